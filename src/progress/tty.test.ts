import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { SolverEvent } from '../solver/events.js';
import { VtScreen } from '../../test/helpers/vt-screen.js';
import { TtyRenderer } from './tty.js';

/**
 * A terminal of `rows`×`cols` that the renderer draws on, behind a tty driver that turns LF into
 * CR LF (onlcr) as a real one does; `resize` redraws (as node does on SIGWINCH).
 */
function terminal(rows: number, cols: number) {
  const screen = new VtScreen(rows, cols);
  const out = Object.assign(new EventEmitter(), {
    rows,
    columns: cols,
    write: (s: string) => {
      screen.write(s.replaceAll('\n', '\r\n'));
      return true;
    },
  });
  return { screen, out, stream: out as unknown as NodeJS.WriteStream, redraw: () => out.emit('resize') };
}

const v = (n: number, total = 25) => ({ id: `v${n}`, name: `[${n}/${total}] RUN step ${n}` });

describe('TtyRenderer', () => {
  it('shows why each step ran, and where a cached step came from', () => {
    const t = terminal(30, 120);
    const r = new TtyRenderer(t.stream, () => 1200);
    const events: SolverEvent[] = [
      { type: 'vertex.cached', vertex: { id: 'a', name: '[1/3] RUN a' }, time: 0, from: 'reg/app:cache' },
      { type: 'vertex.cached', vertex: { id: 'b', name: '[2/3] RUN b' }, time: 0 },
      {
        type: 'vertex.start',
        vertex: { id: 'c', name: '[3/3] COPY src/ /src/' },
        time: 0,
        reason: 'files changed: src/a.txt',
      },
      { type: 'vertex.done', vertex: { id: 'c', name: '[3/3] COPY src/ /src/' }, time: 1200, durationMs: 1200 },
    ];
    for (const e of events) r.onEvent(e);
    r.close();
    const lines = t.screen.text();
    expect(lines[1]).toMatch(/=> \[1\/3\] RUN a +CACHED \(reg\/app:cache\)$/);
    expect(lines[2]).toMatch(/=> \[2\/3\] RUN b +CACHED$/);
    expect(lines[3]).toMatch(/=> \[3\/3\] COPY src\/ \/src\/ +1\.2s$/);
    expect(lines[4]).toBe('   ↳ files changed: src/a.txt');
  });

  it('never scrolls at 80×15: 25 steps with output stay in 14 lines, the count ends (25/25) FINISHED', () => {
    const t = terminal(15, 80);
    let now = 0;
    const r = new TtyRenderer(t.stream, () => now);
    r.onEvent({ type: 'plan', time: 0, vertices: Array.from({ length: 25 }, (_, i) => v(i + 1)) });
    for (let i = 1; i <= 25; i++) {
      now += 100;
      r.onEvent({ type: 'vertex.start', vertex: v(i), time: now });
      // two steps at once, each writing more lines than the view has room for
      if (i > 1) r.onEvent({ type: 'vertex.done', vertex: v(i - 1), time: now, durationMs: 100 });
      for (let l = 0; l < 20; l++)
        r.onEvent({ type: 'vertex.log', vertex: v(i), time: now, stream: 'stdout', data: `out ${i}.${l}\n` });
      t.redraw();
      expect(t.screen.scrolledOff).toEqual([]);
      const shown = t.screen.text().filter(Boolean);
      expect(shown.length).toBeLessThanOrEqual(14);
      expect(shown[0]).toBe(`[+] Building ${(now / 1000).toFixed(1)}s (${i - 1}/25)`);
      // the running step and its latest output are what stays
      expect(shown).toContain(`   out ${i}.19`);
      expect(shown.some((l) => l.startsWith(`=> [${i}/25] RUN step ${i}`))).toBe(true);
    }
    now += 100;
    r.onEvent({ type: 'vertex.done', vertex: v(25), time: now, durationMs: 100 });
    r.close();
    expect(t.screen.scrolledOff).toEqual([]);
    const shown = t.screen.text().filter(Boolean);
    expect(shown[0]).toBe('[+] Building 2.6s (25/25) FINISHED');
    expect(shown.length).toBe(14);
    // finished steps collapse to their line: the newest ones are in view
    expect(shown.at(-1)).toMatch(/^ => \[25\/25\] RUN step 25 +0\.1s$/);
  });

  it('keeps the last 6 lines of a running step, the unfinished line included', () => {
    const t = terminal(30, 80);
    const r = new TtyRenderer(t.stream, () => 0);
    r.onEvent({ type: 'vertex.start', vertex: v(1), time: 0 });
    r.onEvent({
      type: 'vertex.log',
      vertex: v(1),
      time: 0,
      stream: 'stdout',
      data: 'a\nb\nc\nd\ne\n\x1b[31mf\x1b[0m\ng\n',
    });
    r.onEvent({ type: 'vertex.log', vertex: v(1), time: 0, stream: 'stderr', data: '10%\r50%' });
    t.redraw();
    expect(t.screen.text().filter(Boolean).slice(2)).toEqual(['   c', '   d', '   e', '   f', '   g', '   50%']);
    r.close();
  });

  it('shows steps cancelled by a sibling failure as CANCELED, the failure as ERROR', () => {
    const t = terminal(30, 80);
    const r = new TtyRenderer(t.stream, () => 0);
    r.onEvent({ type: 'vertex.start', vertex: v(1), time: 0 });
    r.onEvent({ type: 'vertex.start', vertex: v(2), time: 0 });
    r.onEvent({ type: 'vertex.error', vertex: v(2), time: 0, message: 'exit code 1' });
    r.onEvent({ type: 'vertex.canceled', vertex: v(1), time: 0 });
    r.close();
    const lines = t.screen.text();
    expect(lines[1]).toMatch(/ => \[1\/25\] RUN step 1 +CANCELED$/);
    expect(lines[2]).toMatch(/ => \[2\/25\] RUN step 2 +ERROR$/);
  });

  it('prints warnings below the last frame, where no redraw overwrites them', () => {
    const t = terminal(15, 80);
    const r = new TtyRenderer(t.stream, () => 0);
    r.onEvent({ type: 'warning', time: 0, message: 'Dockerfile:3: JSON arguments recommended' });
    r.onEvent({ type: 'vertex.start', vertex: v(1), time: 0 });
    t.redraw();
    expect(t.screen.text().join('\n')).not.toContain('JSON arguments');
    r.onEvent({ type: 'vertex.done', vertex: v(1), time: 0, durationMs: 0 });
    r.close();
    expect(t.screen.text().filter(Boolean).slice(-2)).toEqual([
      '1 warning found:',
      ' - Dockerfile:3: JSON arguments recommended',
    ]);
  });

  it('follows the terminal when it gets smaller', () => {
    const t = terminal(15, 80);
    const r = new TtyRenderer(t.stream, () => 0);
    for (let i = 1; i <= 12; i++) r.onEvent({ type: 'vertex.start', vertex: v(i), time: 0 });
    t.redraw();
    expect(t.screen.text().filter(Boolean)).toHaveLength(13);
    // a smaller window: node updates rows (and columns) and emits 'resize' on SIGWINCH
    t.out.rows = 6;
    t.redraw();
    expect(t.screen.text().filter(Boolean)).toHaveLength(5);
    expect(t.screen.text()[0]).toMatch(/^\[\+\] Building/);
    r.close();
  });

  it('shows the bytes of a transfer, and does not count it as a step', () => {
    const t = terminal(15, 80);
    const r = new TtyRenderer(t.stream, () => 0);
    r.onEvent({ type: 'plan', time: 0, vertices: [v(1)] });
    r.onEvent({ type: 'vertex.start', vertex: v(1), time: 0 });
    r.onEvent({
      type: 'progress',
      time: 0,
      id: 'push:sha256:ab',
      name: 'pushing sha256:ab',
      current: 1_500_000,
      total: 4_000_000,
    });
    t.redraw();
    expect(t.screen.text()[2]).toMatch(/=> pushing sha256:ab +1\.50MB \/ 4\.00MB 0\.0s$/);
    expect(t.screen.text()[0]).toMatch(/\(0\/1\)$/);
    // once done it keeps its size, as BuildKit's `=> => sha256:… 4.00MB / 4.00MB`
    r.onEvent({
      type: 'progress',
      time: 0,
      id: 'push:sha256:ab',
      name: 'pushing sha256:ab',
      current: 4_000_000,
      total: 4_000_000,
      done: true,
    });
    t.redraw();
    expect(t.screen.text()[2]).toMatch(/ => pushing sha256:ab +4\.00MB \/ 4\.00MB 0\.0s$/);
    r.close();
  });
});

describe('TtyRenderer step transfers', () => {
  it("shows a step's own transfer on the step's row, not as a row of its own", () => {
    const t = terminal(10, 100);
    const r = new TtyRenderer(t.stream, () => 100);
    const load = { id: 'load:dockerfile', name: '[internal] load build definition from Dockerfile' };
    r.onEvent({ type: 'vertex.start', vertex: load, time: 0 });
    r.onEvent({
      type: 'progress',
      time: 50,
      id: 'load:dockerfile:transfer',
      name: 'transferring dockerfile',
      current: 71,
      total: 71,
      done: true,
      vertexId: load.id,
    });
    r.onEvent({ type: 'vertex.done', vertex: load, time: 100, durationMs: 100 });
    r.close();
    const rows = t.screen.text().filter((l) => l.includes('=>'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(/=> \[internal\] load build definition from Dockerfile +71B \/ 71B 0\.1s$/);
  });
});
