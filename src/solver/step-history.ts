import { join } from 'node:path';
import type { ContextSelection } from '../cache/context-source.js';
import { diffSelections, readSelection, writeSelection, type SelectedFile } from '../cache/selection-files.js';
import type { StepIndex } from '../cache/step-index.js';
import type { CacheKey, KeyRecord } from './cache-key.js';
import { explainMiss } from './explain.js';
import type { MissCause } from './events.js';
import type { Vertex } from './graph.js';

export interface StepHistoryOptions {
  index: StepIndex;
  /** Where the selection file lists live (StatePaths.selectionFiles). */
  selectionsDir: string;
  contextDir: string;
  /** Content hashes handed out this build, by absolute path (the stat cache fills it). */
  hashes: ReadonlyMap<string, string>;
  buildArgs: ReadonlySet<string>;
}

/**
 * What the solver remembers of each step between builds, to explain a miss: the key record the
 * step had last time (in the step index) and the file lists behind its context selections.
 * A step is identified by structure: its stage, its depth along the parent chain, its op type.
 */
export class StepHistory {
  private readonly depths = new Map<Vertex, number>();
  private readonly selections = new Map<string, ContextSelection>();

  constructor(private readonly opts: StepHistoryOptions) {}

  /** Iterative: a chain of thousands of steps must not take thousands of stack frames. */
  private depth(v: Vertex): number {
    const unknown: Vertex[] = [];
    let u: Vertex | undefined = v;
    while (u && !this.depths.has(u)) {
      unknown.push(u);
      u = u.inputs[0];
    }
    let d = u ? this.depths.get(u)! : -1;
    for (let i = unknown.length - 1; i >= 0; i--) this.depths.set(unknown[i]!, ++d);
    return this.depths.get(v)!;
  }

  stepId(v: Vertex): string {
    return `${v.stage}/${this.depth(v)}/${v.op.type}`;
  }

  noteSelections(selections: Map<number, ContextSelection>): void {
    for (const sel of selections.values()) this.selections.set(sel.digest, sel);
  }

  /**
   * The step got a result under this key (cached or run): remember it for the next build. The
   * solver calls this for cached steps only (op kinds with `cacheable`): sources have no record.
   */
  seen(v: Vertex, key: CacheKey, record: KeyRecord): void {
    this.opts.index.record(this.stepId(v), { key, name: v.name, inputs: record });
  }

  private files(sel: ContextSelection): SelectedFile[] {
    const out: SelectedFile[] = [];
    for (const s of sel.sources) {
      for (const m of s.matches) {
        for (const e of [m.root, ...m.children]) {
          const hash = e.type === 'file' ? (this.opts.hashes.get(join(this.opts.contextDir, e.rel)) ?? '') : '';
          out.push({
            path: e.rel || '.',
            fingerprint: `${e.type}\t${e.mode.toString(8)}\t${e.uid}:${e.gid}\t${e.linkTarget ?? ''}\t${hash}`,
          });
        }
      }
    }
    return out;
  }

  /** After a step ran: keep the file lists of what it selected, for the next build's diff. */
  async keepSelections(record: KeyRecord): Promise<void> {
    for (const digest of record.content ?? []) {
      const sel = this.selections.get(digest);
      if (sel) await writeSelection(this.opts.selectionsDir, digest, this.files(sel)).catch(() => {});
    }
  }

  async explain(v: Vertex, key: CacheKey, record: KeyRecord): Promise<MissCause[]> {
    const prev = await this.opts.index.previousOf(this.stepId(v));
    if (!prev) return [{ kind: 'new-step' }];
    if (prev.key === key || !prev.inputs) return [{ kind: prev.key === key ? 'pruned' : 'unknown' }];
    return explainMiss(prev.inputs, record, {
      inputNames: v.inputs.map((i) => i.name),
      buildArgs: this.opts.buildArgs,
      diffFiles: async (before, after) => {
        const was = await readSelection(this.opts.selectionsDir, before);
        const sel = this.selections.get(after);
        if (!was || !sel) return undefined;
        const now = new Map(this.files(sel).map((f) => [f.path, f.fingerprint]));
        return diffSelections(was, now);
      },
    });
  }

  save(): Promise<void> {
    return this.opts.index.save().catch(() => {});
  }
}
