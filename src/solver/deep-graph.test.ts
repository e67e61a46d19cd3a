/**
 * Issue 10 point 9: a Dockerfile of more than ~1,200 steps failed with "Maximum call stack size
 * exceeded" (exit 70) in key computation, which recursed once per step. 5,000 steps here.
 */
import { describe, expect, it } from 'vitest';
import type { CacheRecord } from '../cache/cache-records.js';
import type { StepIndex } from '../cache/step-index.js';
import type { SolverEvent } from './events.js';
import { inputsFirst, type Vertex } from './graph.js';
import type { SolveContext } from './ops/op-context.js';
import { Solver } from './solve.js';
import { StepHistory } from './step-history.js';

const STEPS = 5_000;

/** FROM scratch, then STEPS WORKDIR-like steps, each on the one before (one chain, STEPS deep). */
function chain(steps: number): Vertex {
  let v: Vertex = { id: 'v0', op: { type: 'scratch' }, inputs: [], name: 'scratch', stage: '' };
  for (let i = 1; i <= steps; i++) {
    v = {
      id: `v${i}`,
      op: { type: 'mkdir', path: `/d${i % 7}`, mode: 0o755 },
      inputs: [v],
      name: `[stage-0 ${i}/${steps}] WORKDIR /d${i % 7}`,
      stage: '0',
    };
  }
  return v;
}

/** A state dir in memory where every step has a record: the whole chain is cached. */
function cachedEverywhere(events: SolverEvent[]): SolveContext {
  const ctx = {
    records: {
      get: async (key: string): Promise<CacheRecord> => ({
        key,
        layers: [`s${key.slice(0, 19)}`],
        createdAt: '2026-01-01T00:00:00Z',
        description: '',
      }),
      put: async () => {},
      touch: async () => {},
    },
    snapshots: { exists: async () => true },
    emit: (e: SolverEvent) => events.push(e),
  };
  return ctx as unknown as SolveContext;
}

function memoryIndex(): StepIndex {
  const steps = new Map<string, unknown>();
  return {
    record: (id: string, entry: unknown) => void steps.set(id, entry),
    previousOf: async (id: string) => steps.get(id),
    save: async () => {},
  } as unknown as StepIndex;
}

describe('a graph thousands of steps deep', () => {
  it('inputsFirst walks a 5,000-deep chain, inputs before the steps on them', () => {
    const order = inputsFirst(chain(STEPS));
    expect(order).toHaveLength(STEPS + 1);
    expect(order[0]!.id).toBe('v0');
    expect(order.at(-1)!.id).toBe(`v${STEPS}`);
  });

  it('keys, cache checks and history of 5,000 steps need no deep stack', async () => {
    const target = chain(STEPS);
    const events: SolverEvent[] = [];
    const history = new StepHistory({
      index: memoryIndex(),
      selectionsDir: '/nonexistent',
      contextDir: '/nonexistent',
      hashes: new Map(),
      buildArgs: new Set(),
    });
    const solver = new Solver(cachedEverywhere(events), { history });
    const result = await solver.solve(target);
    expect(result.layers).toHaveLength(1);
    expect(events.filter((e) => e.type === 'vertex.cached')).toHaveLength(STEPS);
    expect(await solver.reachedKeys()).toHaveLength(STEPS);
    expect(history.stepId(target)).toBe(`0/${STEPS}/mkdir`);
  });

  it('a step 20,000 deep gets its history id without recursion', () => {
    const history = new StepHistory({
      index: memoryIndex(),
      selectionsDir: '/nonexistent',
      contextDir: '/nonexistent',
      hashes: new Map(),
      buildArgs: new Set(),
    });
    const deep = chain(20_000);
    expect(history.stepId(deep.inputs[0]!.inputs[0]!)).toBe('0/19998/mkdir');
    expect(history.stepId(deep)).toBe('0/20000/mkdir');
  });
});
