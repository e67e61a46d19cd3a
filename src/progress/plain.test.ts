import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PlainRenderer } from './plain.js';

describe('PlainRenderer', () => {
  it("adds a RUN step's peak memory and CPU time to its DONE line, and nothing for other steps", () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const r = new PlainRenderer(out);
    const run = { id: 'r', name: '[2/2] RUN make' };
    const copy = { id: 'c', name: '[1/2] COPY . .' };
    r.onEvent({ type: 'vertex.start', vertex: copy, time: 0 });
    r.onEvent({ type: 'vertex.done', vertex: copy, time: 100, durationMs: 100 });
    r.onEvent({ type: 'vertex.start', vertex: run, time: 100 });
    r.onEvent({
      type: 'vertex.done',
      vertex: run,
      time: 2200,
      durationMs: 2100,
      peakMemoryBytes: 33_344_307,
      cpuSeconds: 1.2,
    });
    expect(text).toContain('#1 DONE 0.1s\n');
    expect(text).toContain('#2 DONE 2.1s (peak 31.8 MiB, cpu 1.20s)\n');
  });
});
