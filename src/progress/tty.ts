import type { SolverEvent } from '../solver/events.js';
import { humanBytes } from './bytes.js';
import type { Renderer } from './renderer.js';
import { type FrameRow, layoutFrame } from './tty-layout.js';
import { usageText } from './usage-text.js';

/** Lines of a running step's output kept under it, as BuildKit's progressui shows them (its termHeight). */
export const LOG_LINES = 6;

interface Row {
  name: string;
  state: 'running' | 'done' | 'cached' | 'error' | 'canceled';
  start: number;
  end?: number;
  /** The step's latest output lines (at most LOG_LINES), and the unterminated tail of its output. */
  logs: string[];
  partial: string;
  /** Why it ran (the miss explanation), kept under the step once done: it says where the time went. */
  reason?: string;
  /** The --cache-from it came from. */
  from?: string;
  /** Bytes of a transfer (pull, push, export) so far, and of the whole. */
  bytes?: { current: number; total?: number };
  /** Whether it is one of the `(n/m)` count's steps (transfers are not: they belong to a step). */
  counted: boolean;
  /** What a finished RUN step used (`peak 31.8 MiB, cpu 1.20s`), before its time. */
  usage?: string;
  /** A status row: the message a status event opened it with (its `done` event may add a note). */
  status?: string;
}

/**
 * A live view like BuildKit's: a header with the time and the `(n/m)` count, one line per step
 * with its state and time, the last lines of each running step's output under it, redrawn in
 * place at most ten times a second. It never scrolls: the view is clipped to the terminal's
 * height (finished steps go first, then output lines, then the oldest running steps), so every
 * redraw lands on the lines it replaces. Warnings are printed once, below the last frame.
 */
export class TtyRenderer implements Renderer {
  private readonly rows = new Map<string, Row>();
  /** The steps the solver announced: the count's m, before they start. */
  private readonly planned = new Set<string>();
  private readonly warnings: string[] = [];
  /** The lengths of the lines last drawn, to find their start again (after a resize they may wrap). */
  private drawnLengths: number[] = [];
  private lastFrame = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly t0: number;
  private finished = false;
  private statuses = 0;
  private readonly onResize = () => this.draw();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly now: () => number = Date.now,
  ) {
    this.t0 = now();
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
    // node re-reads the size on SIGWINCH and says so with 'resize'
    out.on?.('resize', this.onResize);
  }

  onEvent(e: SolverEvent): void {
    switch (e.type) {
      case 'plan':
        for (const v of e.vertices) this.planned.add(v.id);
        break;
      case 'vertex.start':
        this.rows.delete(e.vertex.id); // re-inserted last: rows show in the order they started
        this.rows.set(e.vertex.id, {
          ...newRow(e.vertex.name, 'running', e.time),
          ...(e.reason ? { reason: e.reason } : {}),
        });
        break;
      case 'vertex.cached':
        this.rows.set(e.vertex.id, {
          ...newRow(e.vertex.name, 'cached', e.time),
          end: e.time,
          ...(e.from ? { from: e.from } : {}),
        });
        break;
      case 'vertex.log': {
        const row = this.rows.get(e.vertex.id);
        if (row) addOutput(row, e.data);
        break;
      }
      case 'vertex.done': {
        this.finish(e.vertex.id, 'done', e.time);
        const row = this.rows.get(e.vertex.id);
        const usage = usageText(e);
        if (row && usage) row.usage = usage;
        break;
      }
      case 'vertex.error':
        this.finish(e.vertex.id, 'error', e.time);
        break;
      case 'vertex.canceled':
        this.finish(e.vertex.id, 'canceled', e.time);
        break;
      case 'status':
        this.onStatus(e.message, e.time, e.done, e.durationMs);
        break;
      case 'progress': {
        // a step's own transfer shows on its row; a standalone one (a pull, a push) gets a row of its own
        const key = e.vertexId && this.rows.has(e.vertexId) ? e.vertexId : `progress:${e.id}`;
        let row = this.rows.get(key);
        if (!row) {
          row = { ...newRow(e.name, 'running', e.time), counted: false };
          this.rows.set(key, row);
        }
        row.bytes = { current: e.current, ...(e.total !== undefined ? { total: e.total } : {}) };
        if (e.done && key !== e.vertexId) Object.assign(row, { state: 'done', end: e.time });
        break;
      }
      case 'warning':
        this.warnings.push(e.message);
        break;
      case 'result':
        break;
    }
  }

  private finish(id: string, state: Row['state'], time: number): void {
    const row = this.rows.get(id);
    if (row) Object.assign(row, { state, end: time });
  }

  /**
   * A status opens a row; its `done` event closes the latest open row whose message it starts
   * with (an exporter's done message may add a note). A status that is never closed (a notice)
   * ends when the next status comes or the build does.
   */
  private onStatus(message: string, time: number, done?: boolean, durationMs?: number): void {
    const open = [...this.rows.values()].filter((r) => r.status !== undefined && r.state === 'running');
    if (done) {
      const row = open.reverse().find((r) => message.startsWith(r.status!));
      if (row) {
        Object.assign(row, { name: message, state: 'done', end: row.start + (durationMs ?? time - row.start) });
        return;
      }
      this.rows.set(`status:${this.statuses++}`, {
        ...newRow(message, 'done', time - (durationMs ?? 0)),
        end: time,
        status: message,
      });
      return;
    }
    this.rows.set(`status:${this.statuses++}`, { ...newRow(message, 'running', time), status: message });
  }

  /** The header's `(n/m)`: steps finished of those known (planned, started, and statuses). */
  private count(): { done: number; total: number } {
    let done = 0;
    let total = this.planned.size;
    for (const [id, r] of this.rows) {
      if (!r.counted) continue;
      if (!this.planned.has(id)) total++;
      if (r.state !== 'running') done++;
    }
    return { done, total };
  }

  /** The frame: header, then each row's lines, clipped to `maxLines` and `width`. */
  frame(width: number, maxLines: number): string[] {
    const now = this.now();
    const { done, total } = this.count();
    const header = `[+] Building ${((now - this.t0) / 1000).toFixed(1)}s (${done}/${total})${this.finished ? ' FINISHED' : ''}`;
    const rows: FrameRow[] = [...this.rows.values()].map((r) => ({
      active: r.state === 'running' || r.state === 'error',
      head: fit(`${r.state === 'running' ? '=>' : ' =>'} ${r.name}`, tagOf(r, now), width),
      details: [
        ...(r.reason ? [`   ↳ ${r.reason}`] : []),
        ...(r.state === 'running' || r.state === 'error'
          ? [...r.logs, ...(r.partial ? [r.partial] : [])].slice(-LOG_LINES).map((l) => `   ${l}`)
          : []),
      ].map((l) => cut(l, width - 1)),
    }));
    return [cut(header, width - 1), ...layoutFrame(rows, maxLines - 1)];
  }

  private draw(): void {
    const width = this.out.columns || 100;
    // One line fewer than the screen: the cursor rests on the line below the view, and a view
    // as tall as the screen would scroll its first line away on every redraw.
    const maxLines = this.out.rows ? Math.max(2, this.out.rows - 1) : Number.POSITIVE_INFINITY;
    const lines = this.frame(width, maxLines);
    const text = lines.join('\n');
    if (text === this.lastFrame) return;
    this.lastFrame = text;
    // Where the last frame began: its lines, each as many screen rows as it takes at this width.
    const up = this.drawnLengths.reduce((n, len) => n + Math.max(1, Math.ceil(len / width)), 0);
    let s = up > 0 ? `\r\x1b[${up}A` : '';
    for (const l of lines) s += `${l}\x1b[K\n`;
    s += '\x1b[J'; // what a taller frame left below
    this.out.write(s);
    this.drawnLengths = lines.map((l) => Array.from(l).length);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.out.off?.('resize', this.onResize);
    for (const r of this.rows.values()) {
      if (r.state === 'running' && r.status !== undefined) Object.assign(r, { state: 'done', end: this.now() });
    }
    this.finished = true;
    this.draw();
    if (this.warnings.length) {
      const n = this.warnings.length;
      this.out.write(
        `${n} warning${n === 1 ? '' : 's'} found:\n${this.warnings.map((w) => ` - ${w.replaceAll('\n', ' ')}\n`).join('')}`,
      );
    }
  }
}

function newRow(name: string, state: Row['state'], start: number): Row {
  return { name: clean(name), state, start, logs: [], partial: '', counted: true };
}

/** Keeps the last LOG_LINES complete lines and the unterminated tail of a step's output. */
function addOutput(row: Row, data: string): void {
  const parts = (row.partial + data).split(/\r?\n/);
  row.partial = clean(lastRedraw(parts.pop() ?? ''));
  for (const p of parts) {
    const line = clean(lastRedraw(p));
    if (line.trim() !== '') row.logs.push(line);
  }
  if (row.logs.length > LOG_LINES) row.logs.splice(0, row.logs.length - LOG_LINES);
}

/** A progress bar redraws its line with `\r`: what the terminal would show is the text after the last one. */
function lastRedraw(line: string): string {
  const parts = line.split('\r').filter((p) => p !== '');
  return parts.at(-1) ?? '';
}

/** Without escape sequences and control characters, which would move the cursor off the view's lines. */
function clean(s: string): string {
  return (
    s
      // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences, removed
      .replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]/g, '')
      .replaceAll('\t', '    ')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters, removed
      .replace(/[\x00-\x1f\x7f-\x9f]/g, '')
  );
}

function tagOf(r: Row, now: number): string {
  const secs = `${(((r.end ?? now) - r.start) / 1000).toFixed(1)}s`;
  switch (r.state) {
    case 'cached':
      return r.from ? `CACHED (${r.from})` : 'CACHED';
    case 'error':
      return 'ERROR';
    case 'canceled':
      return 'CANCELED';
    default:
      // a finished transfer keeps its size, as BuildKit's `=> => sha256:… 20.00MB / 20.00MB 0.3s`
      if (r.bytes)
        return `${humanBytes(r.bytes.current)}${r.bytes.total !== undefined ? ` / ${humanBytes(r.bytes.total)}` : ''} ${secs}`;
      return r.usage ? `${r.usage}  ${secs}` : secs;
  }
}

/** The first `n` characters (code points) of `s`. */
function cut(s: string, n: number): string {
  const chars = Array.from(s);
  return chars.length <= n ? s : chars.slice(0, Math.max(0, n)).join('');
}

function fit(left: string, right: string, width: number): string {
  const room = width - 1 - Array.from(right).length - 1;
  const l = Array.from(left).length > room ? `${cut(left, room - 1)}…` : left;
  return cut(`${l}${' '.repeat(Math.max(1, width - 1 - Array.from(l).length - right.length))}${right}`, width - 1);
}
