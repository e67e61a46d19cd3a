import type { SolverEvent } from '../solver/events.js';
import { humanBytes } from './bytes.js';
import type { Renderer } from './renderer.js';
import { usageText } from './usage-text.js';

/**
 * BuildKit-style plain lines for CI logs: `#N name`, `#N 0.123 output`, `#N DONE 0.4s`; a RUN
 * step's DONE line adds what it used: `#N DONE 2.1s (peak 31.8 MiB, cpu 1.20s)`.
 */
export class PlainRenderer implements Renderer {
  private readonly warnings: string[] = [];
  private readonly numbers = new Map<string, number>();
  private readonly started = new Map<string, number>();
  private readonly partial = new Map<string, string>();
  private next = 1;
  private readonly t0 = Date.now();
  private durationMs: number | undefined;

  constructor(private readonly out: NodeJS.WritableStream) {}

  private num(id: string): number {
    let n = this.numbers.get(id);
    if (n === undefined) {
      n = this.next++;
      this.numbers.set(id, n);
    }
    return n;
  }

  private write(line: string): void {
    this.out.write(line + '\n');
  }

  onEvent(e: SolverEvent): void {
    switch (e.type) {
      case 'vertex.start': {
        const n = this.num(e.vertex.id);
        this.started.set(e.vertex.id, e.time);
        this.write(`#${n} ${e.vertex.name}`);
        if (e.reason) this.write(`#${n} running: ${e.reason}`);
        break;
      }
      case 'vertex.cached': {
        const n = this.num(e.vertex.id);
        this.write(`#${n} ${e.vertex.name}`);
        this.write(e.from ? `#${n} CACHED (from ${e.from})` : `#${n} CACHED`);
        break;
      }
      case 'vertex.log': {
        const n = this.num(e.vertex.id);
        const start = this.started.get(e.vertex.id) ?? e.time;
        const text = (this.partial.get(e.vertex.id) ?? '') + e.data;
        const lines = text.split('\n');
        this.partial.set(e.vertex.id, lines.pop() ?? '');
        for (const l of lines) this.write(`#${n} ${((e.time - start) / 1000).toFixed(3)} ${l}`);
        break;
      }
      case 'vertex.done': {
        const n = this.num(e.vertex.id);
        this.flushPartial(e.vertex.id, n);
        const usage = usageText(e);
        this.write(`#${n} DONE ${(e.durationMs / 1000).toFixed(1)}s${usage ? ` (${usage})` : ''}`);
        break;
      }
      case 'vertex.error': {
        const n = this.num(e.vertex.id);
        this.flushPartial(e.vertex.id, n);
        this.write(`#${n} ERROR: ${e.message.split('\n')[0]}`);
        break;
      }
      case 'vertex.canceled': {
        const n = this.num(e.vertex.id);
        this.flushPartial(e.vertex.id, n);
        this.write(`#${n} CANCELED`);
        break;
      }
      case 'progress': {
        // a finished transfer only: plain logs are read later, byte counts on the way mean nothing there
        if (!e.done) break;
        const n = this.num(e.vertexId ?? `progress:${e.id}`);
        this.write(`#${n} ${e.name}: ${humanBytes(e.current)} done`);
        break;
      }
      case 'status':
        if (e.done) this.write(`#- ${e.message}: done ${((e.durationMs ?? 0) / 1000).toFixed(1)}s`);
        else this.write(`#- ${e.message}`);
        break;
      case 'warning':
        // at the end, as BuildKit lists its warnings: the log's last lines are what people read
        this.warnings.push(e.message);
        break;
      case 'result':
        this.durationMs = e.durationMs;
        break;
    }
  }

  private flushPartial(id: string, n: number): void {
    const rest = this.partial.get(id);
    if (rest) this.write(`#${n} ${rest}`);
    this.partial.delete(id);
  }

  close(): void {
    // a replayed log (tsbuild history logs) took the time its result says, not the replay's
    this.write(`#- total ${((this.durationMs ?? Date.now() - this.t0) / 1000).toFixed(2)}s`);
    for (const w of this.warnings.splice(0)) this.write(`WARNING: ${w}`);
  }
}
