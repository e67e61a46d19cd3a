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

describe('PlainRenderer transfers', () => {
  it("shows a step's own transfer under the step's number, a standalone one under its own", () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const r = new PlainRenderer(out);
    const load = { id: 'load:dockerfile', name: '[internal] load build definition from Dockerfile' };
    r.onEvent({ type: 'vertex.start', vertex: load, time: 0 });
    r.onEvent({
      type: 'progress',
      time: 1,
      id: 'load:dockerfile:transfer',
      name: 'transferring dockerfile',
      current: 71,
      total: 71,
      done: true,
      vertexId: load.id,
    });
    r.onEvent({ type: 'vertex.done', vertex: load, time: 2, durationMs: 2 });
    r.onEvent({ type: 'progress', time: 3, id: 'pull:x', name: 'pulling sha256:abc', current: 5, done: true });
    expect(text).toBe(
      '#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: 71B done\n#1 DONE 0.0s\n#2 pulling sha256:abc: 5B done\n',
    );
  });
});
