import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TtyRenderer } from './tty.js';

/** The last frame the renderer drew, without escape sequences. */
function render(events: Parameters<TtyRenderer['onEvent']>[0][]): string[] {
  const out = Object.assign(new PassThrough(), { columns: 120 }) as unknown as NodeJS.WriteStream;
  let text = '';
  (out as unknown as PassThrough).on('data', (c: Buffer) => (text = c.toString()));
  const r = new TtyRenderer(out);
  for (const e of events) r.onEvent(e);
  r.close();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's escape sequences, to strip them
  const escapes = /\x1b\[\d*[A-Z]/g;
  return text.replace(escapes, '').split('\n').filter(Boolean);
}

describe('TtyRenderer', () => {
  it('shows why each step ran, and where a cached step came from', () => {
    const lines = render([
      { type: 'vertex.cached', vertex: { id: 'a', name: '[1/3] RUN a' }, time: 0, from: 'reg/app:cache' },
      { type: 'vertex.cached', vertex: { id: 'b', name: '[2/3] RUN b' }, time: 0 },
      {
        type: 'vertex.start',
        vertex: { id: 'c', name: '[3/3] COPY src/ /src/' },
        time: 0,
        reason: 'files changed: src/a.txt',
      },
      { type: 'vertex.done', vertex: { id: 'c', name: '[3/3] COPY src/ /src/' }, time: 1200, durationMs: 1200 },
    ]);
    expect(lines[1]).toMatch(/=> \[1\/3\] RUN a +CACHED \(reg\/app:cache\)$/);
    expect(lines[2]).toMatch(/=> \[2\/3\] RUN b +CACHED$/);
    expect(lines[3]).toMatch(/=> \[3\/3\] COPY src\/ \/src\/ +1\.2s$/);
    expect(lines[4]).toBe('   ↳ files changed: src/a.txt');
  });
});
