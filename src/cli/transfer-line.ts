import { humanBytes } from '../progress/bytes.js';

/**
 * docker pull/push's byte counts on a terminal: one line below the permanent ones, redrawn in
 * place at most four times a second with the transfers under way (`Pushing 3f1c…: 12.0MB /
 * 20.0MB`). Elsewhere (a pipe, a log) nothing but the permanent lines, as docker prints them.
 */
export class TransferLine {
  private readonly active = new Map<string, { done: number; total: number }>();
  private drawn = false;
  private lastDraw = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly verb: string,
    private readonly now: () => number = Date.now,
  ) {}

  private get live(): boolean {
    return this.out.isTTY === true;
  }

  /** A transfer's bytes so far; its line shows them at the next redraw. */
  update(id: string, done: number, total: number): void {
    if (!this.live) return;
    this.active.set(id, { done, total });
    if (this.now() - this.lastDraw >= 250) this.draw();
  }

  /** A transfer ended: it leaves the line. */
  end(id: string): void {
    this.active.delete(id);
  }

  /** A permanent line, above the transient one. */
  print(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
    if (this.active.size) this.draw();
  }

  /** Removes the transient line (before the command's last lines). */
  clear(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }

  private draw(): void {
    this.lastDraw = this.now();
    const parts = [...this.active].map(([id, b]) => `${id}: ${humanBytes(b.done)} / ${humanBytes(b.total)}`);
    const width = Math.max(10, (this.out.columns || 80) - 1);
    const text = `${this.verb} ${parts.join(', ')}`;
    this.out.write(`\r${Array.from(text).slice(0, width).join('')}\x1b[K`);
    this.drawn = true;
  }
}
