import { type ChildProcessByStdio, spawn, type SpawnOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import { OutputTail } from './output-tail.js';

type StepChild = ChildProcessByStdio<null, Readable, Readable>;

/** A step's process once it has closed. */
export interface ClosedStep {
  child: StepChild;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines of its output; the runner may add what its runtime logged (`collect`). */
  tail: OutputTail;
  /** Passes a chunk on as the step's output and keeps it in the tail. */
  collect(chunk: Buffer, stream: 'stdout' | 'stderr'): void;
}

export interface StepProcessOptions {
  /** Spawn options besides stdio (the step's output is always piped, its stdin closed). */
  spawn?: Omit<SpawnOptions, 'stdio'>;
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
  /** Stops the step when `signal` aborts (the runtime's own way: its container, its group, its cgroup). */
  kill: (child: StepChild) => void;
  /** The error for a process that could not be started. */
  startError: (err: NodeJS.ErrnoException) => Error;
}

/**
 * Runs the process of one RUN step (runc, crun or a chrooted command) with its output going to
 * `onOutput` and into an output tail, killed by `kill` when `signal` aborts; resolves when it has
 * closed, for the runner to read its runtime's leftovers.
 */
export function runStepProcess(command: string, args: string[], o: StepProcessOptions): Promise<ClosedStep> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...o.spawn, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail = new OutputTail();
    const collect = (chunk: Buffer, stream: 'stdout' | 'stderr'): void => {
      o.onOutput?.(chunk, stream);
      tail.add(chunk);
    };
    child.stdout.on('data', (c: Buffer) => collect(c, 'stdout'));
    child.stderr.on('data', (c: Buffer) => collect(c, 'stderr'));
    const onAbort = (): void => o.kill(child);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      o.signal?.removeEventListener('abort', onAbort);
      reject(o.startError(err));
    });
    child.on('close', (code, signal) => {
      o.signal?.removeEventListener('abort', onAbort);
      resolve({ child, code, signal, tail, collect });
    });
  });
}
