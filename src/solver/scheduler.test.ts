/**
 * The scheduler itself, with fake op kinds that run in milliseconds (no runc, no filesystem):
 * the records and snapshots are in memory, and a fake RUN only says it ran and names a layer.
 */
import { describe, expect, it } from 'vitest';
import type { CacheRecord } from '../cache/cache-records.js';
import type { SolverEvent } from './events.js';
import type { ExecOp, Vertex } from './graph.js';
import type { StepKind } from './op-kind.js';
import type { ImportedCache, OpRun, SolveContext, VertexResult } from './ops/op-context.js';
import { opKinds } from './ops/kinds.js';
import { Solver, type SolveOptions } from './solve.js';

/** A state dir in memory: what the solver reads and writes of records and snapshots. */
function memoryState() {
  const records = new Map<string, CacheRecord>();
  const snapshots = new Set<string>();
  return { records, snapshots };
}

type State = ReturnType<typeof memoryState>;

function contextOf(
  state: State,
  events: SolverEvent[],
  importedCache?: ImportedCache | Promise<ImportedCache | undefined>,
): SolveContext {
  return {
    records: {
      get: async (key: string) => state.records.get(key),
      put: async (rec: CacheRecord) => void state.records.set(rec.key, rec),
      touch: async () => {},
    },
    snapshots: { exists: async (id: string) => state.snapshots.has(id) },
    emit: (e: SolverEvent) => events.push(e),
    ...(importedCache ? { importedCache } : {}),
  } as unknown as SolveContext;
}

type FakeRun = (v: Vertex, run: OpRun) => Promise<void>;

/** A RUN kind whose runs call `behave` and then make their layer (an id in the memory state). */
function fakeExec(state: State, behave: FakeRun = async () => {}): StepKind<ExecOp> {
  return {
    cacheable: true,
    key: (op) => ({ op }),
    async run(v, _op, run): Promise<VertexResult> {
      await behave(v, run);
      state.snapshots.add(run.snapshotId);
      return { layers: [...(run.inputs[0]?.layers ?? []), run.snapshotId] };
    },
  };
}

function solverOf(
  state: State,
  events: SolverEvent[],
  behave?: FakeRun,
  opts: SolveOptions = {},
  imported?: ImportedCache | Promise<ImportedCache | undefined>,
) {
  return new Solver(contextOf(state, events, imported), {
    ...opts,
    kinds: { ...opKinds, exec: fakeExec(state, behave) },
  });
}

const scratch = (): Vertex => ({ id: 'scratch', op: { type: 'scratch' }, inputs: [], name: 'scratch', stage: '0' });
const run = (name: string, inputs: Vertex[], over: Partial<Vertex> = {}): Vertex => ({
  id: name,
  op: { type: 'exec', args: ['/bin/sh', '-c', name], env: [], cwd: '/', user: '', network: 'none' },
  inputs,
  name,
  stage: '0',
  ...over,
});

const started = (events: SolverEvent[]) => events.flatMap((e) => (e.type === 'vertex.start' ? [e.vertex.name] : []));
const cached = (events: SolverEvent[]) => events.flatMap((e) => (e.type === 'vertex.cached' ? [e.vertex.name] : []));
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `n` independent steps under one that needs them all. */
function fan(n: number): Vertex {
  const base = scratch();
  const steps = Array.from({ length: n }, (_, i) => run(`step ${i}`, [base]));
  return run('top', [base, ...steps]);
}

describe('the scheduler', () => {
  it('never runs more ops at once than its concurrency', async () => {
    let running = 0;
    let most = 0;
    const events: SolverEvent[] = [];
    const solver = solverOf(
      memoryState(),
      events,
      async () => {
        most = Math.max(most, ++running);
        await tick(3);
        running--;
      },
      { concurrency: 3 },
    );
    await solver.solve(fan(10));
    expect(started(events)).toHaveLength(11);
    expect(most).toBe(3);
  });

  it('cancels everything on the first failure: running ops see the abort, no other op starts', async () => {
    const events: SolverEvent[] = [];
    const runs: string[] = [];
    const sawAbort: string[] = [];
    let firstStarted!: () => void;
    const first = new Promise<void>((r) => (firstStarted = r));
    const solver = solverOf(
      memoryState(),
      events,
      async (v, r) => {
        runs.push(v.name);
        if (runs.length === 1) {
          // the first op to start runs until it is cancelled
          firstStarted();
          await new Promise<void>((_, reject) =>
            r.ctx.signal.addEventListener('abort', () => {
              sawAbort.push(v.name);
              reject(r.ctx.signal.reason);
            }),
          );
        } else if (runs.length === 2) {
          await first;
          throw new Error('the second op fails');
        }
        // any later op would succeed at once: it must never start
      },
      { concurrency: 2 },
    );
    await expect(solver.solve(fan(6))).rejects.toThrow('the second op fails');
    expect(runs).toHaveLength(2);
    expect(sawAbort).toEqual([runs[0]]);
    expect(started(events)).toEqual(runs);
    // the failure is the one error; the sibling it stopped is cancelled, not failed
    const ends = events.filter((e) => e.type === 'vertex.error' || e.type === 'vertex.canceled');
    expect(ends.map((e) => [e.type, 'vertex' in e ? e.vertex.name : ''])).toEqual([
      ['vertex.error', runs[1]],
      ['vertex.canceled', runs[0]],
    ]);
  });

  it('runs what misses, and nothing on a second solve with the same records', async () => {
    const state = memoryState();
    const base = scratch();
    const a = run('a', [base]);
    const b = run('b', [a]);
    const first: SolverEvent[] = [];
    await solverOf(state, first).solve(b);
    expect(started(first)).toEqual(['a', 'b']);

    const second: SolverEvent[] = [];
    const result = await solverOf(state, second).solve(run('b', [run('a', [scratch()])]));
    expect(started(second)).toEqual([]);
    expect(cached(second).sort()).toEqual(['a', 'b']);
    expect(result.layers).toHaveLength(2);

    // a changed step misses; what is under it still hits
    const third: SolverEvent[] = [];
    await solverOf(state, third).solve(run('b2', [run('a', [scratch()])]));
    expect(started(third)).toEqual(['b2']);
  });

  function importedOne(state: ReturnType<typeof memoryState>, key: string, materialized: string[]): ImportedCache {
    return {
      record: (k) =>
        k === key
          ? {
              key,
              layers: ['s-imported'],
              createdAt: '2026-01-01T00:00:00Z',
              description: 'a',
              inputTops: [''],
              source: 'reg/cache',
            }
          : undefined,
      hasLayer: (id) => id === 's-imported',
      layerBlob: (id) =>
        id === 's-imported' ? { digest: 'sha256:0', size: 1, mediaType: 'x', diffId: 'sha256:1' } : undefined,
      fetchLayerBlob: async () => {},
      materialize: async (id) => {
        materialized.push(id);
        state.snapshots.add(id);
      },
    };
  }

  it('takes a step from an imported cache instead of running it, keeps its record, and downloads nothing', async () => {
    const state = memoryState();
    const step = run('a', [scratch()]);
    const { key } = await solverOf(memoryState(), []).keyOf(step);
    const materialized: string[] = [];
    const events: SolverEvent[] = [];
    const solver = solverOf(state, events, undefined, {}, importedOne(state, key, materialized));
    const result = await solver.solve(step);
    expect(started(events)).toEqual([]);
    // nothing ran over it: its layer stays in the cache, for an output to take as a blob
    expect(materialized).toEqual([]);
    expect(solver.remoteLayer('s-imported')?.blob?.digest).toBe('sha256:0');
    expect(result.layers).toEqual(['s-imported']);
    expect(events.find((e) => e.type === 'vertex.cached')).toMatchObject({ vertex: { name: 'a' }, from: 'reg/cache' });
    expect(state.records.get(key)?.layers).toEqual(['s-imported']);
  });

  it('makes an imported layer present before a step over it runs', async () => {
    const state = memoryState();
    const step = run('a', [scratch()]);
    const { key } = await solverOf(memoryState(), []).keyOf(step);
    const materialized: string[] = [];
    const events: SolverEvent[] = [];
    const solver = solverOf(state, events, undefined, {}, importedOne(state, key, materialized));
    await solver.solve(run('b', [step]));
    expect(started(events)).toEqual(['b']);
    expect(materialized).toEqual(['s-imported']);
    expect(solver.remoteLayer('s-imported')).toBeUndefined();
  });

  it('makes the keys while the imported cache is still being read', async () => {
    const state = memoryState();
    const step = run('a', [scratch()]);
    const { key } = await solverOf(memoryState(), []).keyOf(step);
    // the import finishes only once the step's key is made: a solver that waited for it first would hang
    let importDone: (c: ImportedCache) => void = () => {};
    const importing = new Promise<ImportedCache>((r) => (importDone = r));
    const exec = fakeExec(state);
    const keyFirst: typeof exec = {
      ...exec,
      key: (op, ctx) => {
        setImmediate(() => importDone(importedOne(state, key, [])));
        return exec.key(op, ctx);
      },
    };
    const solver = new Solver(contextOf(state, [], importing), { kinds: { ...opKinds, exec: keyFirst } });
    const result = await solver.solve(step);
    expect(result.layers).toEqual(['s-imported']);
  });

  it('hands a run what its key computation learned', async () => {
    const seen: unknown[] = [];
    const learning: StepKind<ExecOp, { args: string[] }> = {
      cacheable: true,
      key: (op) => ({ op, learned: { args: op.args } }),
      run: async (_v, _op, r) => {
        seen.push(r.learned);
        return { layers: [r.snapshotId] };
      },
    };
    const solver = new Solver(contextOf(memoryState(), []), { kinds: { ...opKinds, exec: learning } });
    await solver.solve(run('a', [scratch()]));
    expect(seen).toEqual([{ args: ['/bin/sh', '-c', 'a'] }]);
  });

  it('runs a step again when an input it was recorded on got a new result', async () => {
    const state = memoryState();
    await solverOf(state, []).solve(run('b', [run('a', [scratch()])]));

    // `a` is re-run (--no-cache): same key, a new layer; the record of `b` was made on the old one
    const events: SolverEvent[] = [];
    await solverOf(state, events).solve(run('b', [run('a', [scratch()], { noCache: true })]));
    expect(started(events)).toEqual(['a', 'b']);
    const b = events.find((e) => e.type === 'vertex.start' && e.vertex.name === 'b');
    expect(b).toMatchObject({ causes: [{ kind: 'input-result', step: 'a' }] });
  });
});
