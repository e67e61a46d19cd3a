/**
 * Issue 10 point 7: a missing step is run under its key's step lock, and the record is looked up
 * again once the lock is held: a build that waited for another build running the same step uses
 * that build's result instead of running the step a second time.
 */
import { describe, expect, it } from 'vitest';
import type { CacheRecord } from '../cache/cache-records.js';
import type { SolverEvent } from './events.js';
import type { Vertex } from './graph.js';
import type { SolveContext } from './ops/op-context.js';
import { ownerToken } from '../store/owner.js';
import { Solver } from './solve.js';

/** One WORKDIR step on scratch, whose lock is held by `holder` until its record appears. */
function lockedStep(holder: string) {
  const events: SolverEvent[] = [];
  const calls: string[] = [];
  let written: CacheRecord | undefined;
  const ctx = {
    records: {
      get: async (key: string) => {
        calls.push('get');
        return written?.key === key ? written : undefined;
      },
      put: async () => void calls.push('put'),
      touch: async () => {},
      lock: async (key: string, wait: { onWait?: (holder: string) => void }) => {
        calls.push('lock');
        wait.onWait?.(holder);
        // the holder finishes the step and writes its record while this one waits
        written = { key, layers: ['s-theirs'], createdAt: '2026-01-01T00:00:00Z', description: 'theirs' };
        return async () => void calls.push('release');
      },
    },
    snapshots: { exists: async () => true },
    emit: (e: SolverEvent) => events.push(e),
  } as unknown as SolveContext;
  const scratch: Vertex = { id: 'v0', op: { type: 'scratch' }, inputs: [], name: 'scratch', stage: '' };
  const step: Vertex = {
    id: 'v1',
    op: { type: 'mkdir', path: '/w', mode: 0o755 },
    inputs: [scratch],
    name: '[0 2/2] WORKDIR /w',
    stage: '0',
  };
  return { events, calls, solve: () => new Solver(ctx).solve(step), step };
}

describe('the step lock', () => {
  it('a step whose record appears while its lock is awaited is taken from the cache, not run', async () => {
    const { events, calls, solve, step } = lockedStep('b0a7.4242.1');
    const result = await solve();
    expect(result).toEqual({ layers: ['s-theirs'], createdAt: '2026-01-01T00:00:00Z' });
    expect(calls).toEqual(['get', 'lock', 'get', 'release']);
    expect(events.map((e) => e.type)).toEqual(['plan', 'status', 'vertex.cached']);
    expect(events[0]).toMatchObject({ vertices: [{ id: step.id, name: step.name }] });
    expect(events[1]).toMatchObject({ message: expect.stringContaining('another build is making this step') });
  });

  it('a build waiting on its own hold of the lock (the same step twice in one build) says nothing of another build', async () => {
    const { events, solve } = lockedStep(ownerToken());
    await solve();
    expect(events.map((e) => e.type)).toEqual(['plan', 'vertex.cached']);
  });
});
