import { describe, expect, it } from 'vitest';
import { StepReport } from './step-report.js';

describe('StepReport', () => {
  it("lists the plan's steps in its order, with time and usage for those that ran", () => {
    const r = new StepReport();
    const a = { id: 'a', name: '[1/3] RUN a' };
    const b = { id: 'b', name: '[2/3] RUN b' };
    const c = { id: 'c', name: '[3/3] COPY c' };
    r.observe({ type: 'plan', time: 0, vertices: [a, b, c] });
    // a base image's metadata step is not one of the plan's
    r.observe({ type: 'vertex.done', vertex: { id: 'meta', name: 'load metadata' }, time: 0, durationMs: 5 });
    r.observe({ type: 'vertex.done', vertex: c, time: 3, durationMs: 7 });
    r.observe({
      type: 'vertex.done',
      vertex: b,
      time: 2,
      durationMs: 1200,
      peakMemoryBytes: 1024,
      cpuSeconds: 0.123456,
    });
    r.observe({ type: 'vertex.cached', vertex: a, time: 1 });
    expect(r.list()).toEqual([
      { name: '[1/3] RUN a', cached: true },
      { name: '[2/3] RUN b', durationMs: 1200, peakMemoryBytes: 1024, cpuSeconds: 0.123 },
      { name: '[3/3] COPY c', durationMs: 7 },
    ]);
  });
});
