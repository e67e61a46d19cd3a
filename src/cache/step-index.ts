import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-write.js';

/**
 * "The same step as last time", so a miss can be explained by diffing this build's key record
 * with the one that step had before. One small JSON file per (context dir, Dockerfile):
 * `cache/steps/<sha256(context \0 dockerfile)[:32]>.json`, mapping a step id to the cache key
 * it had in the last build that reached it. The solver names steps by structure, not by text
 * (stage, depth along the parent chain, op type), so editing a command still finds the step.
 * Read once per build, written once at the end and only when a key changed.
 */
export interface StepEntry {
  key: string;
  name: string;
  /** The key record (solver's KeyRecord), diffed against the current one on a miss. */
  inputs?: { op: unknown; inputs: string[]; content?: string[] };
}

/** `dir` is the state dir's StatePaths.stepIndexes. */
export function stepIndexFile(dir: string, contextDir: string, dockerfile: string): string {
  return join(dir, `${createHash('sha256').update(`${contextDir}\0${dockerfile}`).digest('hex').slice(0, 32)}.json`);
}

async function readSteps(file: string): Promise<Record<string, StepEntry>> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { steps?: Record<string, StepEntry> };
    return parsed.steps && typeof parsed.steps === 'object' ? parsed.steps : {};
  } catch {
    return {};
  }
}

export class StepIndex {
  private previous: Promise<Record<string, StepEntry>> | undefined;
  private readonly current = new Map<string, StepEntry>();

  constructor(readonly file: string) {}

  /** The step's entry as the last build left it. */
  async previousOf(stepId: string): Promise<StepEntry | undefined> {
    this.previous ??= readSteps(this.file);
    return (await this.previous)[stepId];
  }

  record(stepId: string, entry: StepEntry): void {
    this.current.set(stepId, entry);
  }

  /** Merges this build's keys into the file (re-read first, so another build's steps are kept). */
  async save(): Promise<void> {
    if (this.current.size === 0) return;
    this.previous ??= readSteps(this.file);
    const before = await this.previous;
    if ([...this.current].every(([id, e]) => before[id]?.key === e.key)) return;
    const merged = { ...(await readSteps(this.file)), ...Object.fromEntries(this.current) };
    await mkdir(join(this.file, '..'), { recursive: true });
    await writeFileAtomic(this.file, JSON.stringify({ steps: merged }), { sync: false });
  }
}
