import type { SolverEvent } from '../solver/events.js';
import type { Renderer } from './renderer.js';

interface Row {
  name: string;
  state: 'running' | 'done' | 'cached' | 'error';
  start: number;
  end?: number;
  lastLine?: string;
  /** Why it ran (the miss explanation), kept under the step once done: it says where the time went. */
  reason?: string;
  /** The --cache-from it came from. */
  from?: string;
}

/**
 * A live view like BuildKit's: one line per step with its state and time, the running steps'
 * latest output line under them, redrawn in place at most ten times a second.
 */
export class TtyRenderer implements Renderer {
  private readonly rows = new Map<string, Row>();
  private readonly extra: string[] = [];
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly t0 = Date.now();

  constructor(private readonly out: NodeJS.WriteStream) {
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
  }

  onEvent(e: SolverEvent): void {
    switch (e.type) {
      case 'vertex.start':
        this.rows.set(e.vertex.id, {
          name: e.vertex.name,
          state: 'running',
          start: e.time,
          ...(e.reason ? { reason: e.reason } : {}),
        });
        break;
      case 'vertex.cached':
        this.rows.set(e.vertex.id, {
          name: e.vertex.name,
          state: 'cached',
          start: e.time,
          end: e.time,
          ...(e.from ? { from: e.from } : {}),
        });
        break;
      case 'vertex.log': {
        const row = this.rows.get(e.vertex.id);
        const line = e.data
          .split('\n')
          .filter((l) => l.trim() !== '')
          .pop();
        if (row && line) row.lastLine = line;
        break;
      }
      case 'vertex.done': {
        const row = this.rows.get(e.vertex.id);
        if (row) Object.assign(row, { state: 'done', end: e.time });
        break;
      }
      case 'vertex.error': {
        const row = this.rows.get(e.vertex.id);
        if (row) Object.assign(row, { state: 'error', end: e.time });
        break;
      }
      case 'status':
        if (e.done) this.extra.push(`=> ${e.message} ${((e.durationMs ?? 0) / 1000).toFixed(1)}s`);
        break;
      case 'warning':
        this.extra.push(`WARNING: ${e.message}`);
        break;
    }
  }

  private lines(): string[] {
    const now = Date.now();
    const width = this.out.columns || 100;
    const out = [`[+] Building ${((now - this.t0) / 1000).toFixed(1)}s`];
    for (const r of this.rows.values()) {
      const secs = (((r.end ?? now) - r.start) / 1000).toFixed(1);
      const tag =
        r.state === 'cached' ? (r.from ? `CACHED (${r.from})` : 'CACHED') : r.state === 'error' ? 'ERROR' : `${secs}s`;
      const left = `${r.state === 'running' ? '=>' : ' =>'} ${r.name}`;
      out.push(fit(left, tag, width));
      if (r.reason) out.push(`   ↳ ${r.reason}`.slice(0, width - 1));
      if (r.state === 'running' && r.lastLine) out.push(`   ${r.lastLine}`.slice(0, width - 1));
    }
    out.push(...this.extra.map((l) => l.slice(0, width - 1)));
    return out;
  }

  private draw(): void {
    const lines = this.lines();
    let s = '';
    if (this.drawn > 0) s += `\x1b[${this.drawn}F`;
    s += lines.map((l) => `\x1b[2K${l}`).join('\n') + '\n';
    // Clear leftovers when the view got shorter.
    for (let i = lines.length; i < this.drawn; i++) s += '\x1b[2K\n';
    this.out.write(s);
    this.drawn = Math.max(lines.length, this.drawn);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.draw();
  }
}

function fit(left: string, right: string, width: number): string {
  const room = width - right.length - 2;
  const l = left.length > room ? left.slice(0, room - 1) + '…' : left;
  return `${l}${' '.repeat(Math.max(1, width - 1 - l.length - right.length))}${right}`;
}
