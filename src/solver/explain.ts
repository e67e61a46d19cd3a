import { canonicalJson, type KeyRecord } from './cache-key.js';
import type { MissCause } from './events.js';

/**
 * Why a step missed the cache: the difference between the key record it had in the last build
 * that reached it and the one it has now (the key is a hash of that record, so any change to the
 * key is a change to one of these fields).
 */
export interface ExplainContext {
  /** Display names of the vertex's inputs (0 is the parent step). */
  inputNames: string[];
  /** Names given with --build-arg in this build: env changes to them are reported as build args. */
  buildArgs: ReadonlySet<string>;
  /** The file lists behind two selection digests (undefined when one was not kept). */
  diffFiles(
    before: string,
    after: string,
  ): Promise<{ added: string[]; removed: string[]; changed: string[] } | undefined>;
}

type OpFields = Record<string, unknown> & { type?: string };

function envMap(env: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(env)) return out;
  for (const e of env) {
    if (typeof e !== 'string') continue;
    const i = e.indexOf('=');
    out.set(i < 0 ? e : e.slice(0, i), i < 0 ? '' : e.slice(i + 1));
  }
  return out;
}

function opCauses(before: OpFields, after: OpFields, buildArgs: ReadonlySet<string>): MissCause[] {
  if (before.type !== after.type) return [{ kind: 'option', field: 'instruction' }];
  if (after.type === 'image')
    return [
      {
        kind: 'base-image',
        ...(typeof before.manifest === 'string' ? { before: before.manifest } : {}),
        after: String(after.manifest),
      },
    ];
  const causes: MissCause[] = [];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  for (const k of keys) {
    if (canonicalJson(before[k]) === canonicalJson(after[k])) continue;
    if (k === 'args' && after.type === 'exec') {
      causes.push({
        kind: 'command',
        before: ((before.args as string[] | undefined) ?? []).join(' '),
        after: ((after.args as string[] | undefined) ?? []).join(' '),
      });
    } else if (k === 'env') {
      const b = envMap(before.env);
      const a = envMap(after.env);
      for (const name of [...new Set([...b.keys(), ...a.keys()])].sort()) {
        if (b.get(name) === a.get(name)) continue;
        causes.push({
          kind: buildArgs.has(name) ? 'build-arg' : 'env',
          name,
          ...(b.has(name) ? { before: b.get(name)! } : {}),
          ...(a.has(name) ? { after: a.get(name)! } : {}),
        });
      }
    } else {
      causes.push({ kind: 'option', field: k });
    }
  }
  return causes;
}

export async function explainMiss(before: KeyRecord, after: KeyRecord, ctx: ExplainContext): Promise<MissCause[]> {
  const causes: MissCause[] = [];
  const n = Math.max(before.inputs.length, after.inputs.length);
  for (let i = 0; i < n; i++) {
    if (before.inputs[i] === after.inputs[i]) continue;
    const step = ctx.inputNames[i] ?? `input ${i}`;
    causes.push(i === 0 ? { kind: 'parent', step } : { kind: 'source-step', step });
  }
  causes.push(...opCauses((before.op ?? {}) as OpFields, (after.op ?? {}) as OpFields, ctx.buildArgs));
  const bc = before.content ?? [];
  const ac = after.content ?? [];
  for (let i = 0; i < Math.max(bc.length, ac.length); i++) {
    if (bc[i] === ac[i]) continue;
    const diff = bc[i] && ac[i] ? await ctx.diffFiles(bc[i]!, ac[i]!) : undefined;
    causes.push({
      kind: 'files',
      ...(diff ?? { added: [], removed: [], changed: [] }),
      ...(diff ? {} : { unknown: true }),
    });
  }
  return causes.length ? causes : [{ kind: 'unknown' }];
}

const MAX_NAMED = 5;

function listPaths(label: string, paths: string[]): string | undefined {
  if (paths.length === 0) return undefined;
  const shown = paths.slice(0, MAX_NAMED).join(', ');
  return `${label} ${shown}${paths.length > MAX_NAMED ? ` and ${paths.length - MAX_NAMED} more` : ''}`;
}

function quote(v: string | undefined): string {
  if (v === undefined) return 'unset';
  const s = v.length > 40 ? `${v.slice(0, 37)}...` : v;
  return JSON.stringify(s);
}

/** One line for plain progress: the causes, most telling first. */
export function describeCauses(causes: MissCause[]): string {
  return causes.map(describeCause).join('; ');
}

export function describeCause(c: MissCause): string {
  switch (c.kind) {
    case 'no-cache':
      return `cache disabled (${c.flag})`;
    case 'new-step':
      return 'no earlier build of this step';
    case 'pruned':
      return 'its cached result was removed (prune)';
    case 'parent':
      return `the parent step changed (${c.step})`;
    case 'source-step':
      return `a source step changed (${c.step})`;
    case 'input-result':
      return `${c.step} has a new result (it ran again)`;
    case 'base-image':
      return c.before
        ? `the base image changed (${c.before.slice(0, 19)} → ${c.after.slice(0, 19)})`
        : 'the base image changed';
    case 'command':
      return `the command changed (was: ${c.before.length > 60 ? `${c.before.slice(0, 57)}...` : c.before})`;
    case 'build-arg':
      return `build arg ${c.name} changed (${quote(c.before)} → ${quote(c.after)})`;
    case 'env':
      return `variable ${c.name} changed (${quote(c.before)} → ${quote(c.after)})`;
    case 'option':
      return `its ${c.field} changed`;
    case 'files': {
      if (c.unknown) return 'the selected files changed';
      const parts = [
        listPaths('changed:', c.changed),
        listPaths('added:', c.added),
        listPaths('removed:', c.removed),
      ].filter(Boolean);
      return `files changed (${parts.join('; ') || 'metadata'})`;
    }
    case 'unknown':
      return 'no cached result for this step';
  }
}
