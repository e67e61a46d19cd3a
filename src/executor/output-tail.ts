/** The last lines a step printed (stdout and stderr together), for the message when it fails. */
export class OutputTail {
  private readonly kept: string[] = [];
  private partial = '';

  constructor(private readonly max = 20) {}

  add(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = lines.pop() ?? '';
    this.push(lines);
  }

  /** Ends an unfinished last line: what comes next starts a new one. */
  endLine(): void {
    if (this.partial) this.push([this.partial]);
    this.partial = '';
  }

  /** The lines kept, an unfinished last one included. */
  lines(): string[] {
    this.endLine();
    return [...this.kept];
  }

  private push(lines: string[]): void {
    this.kept.push(...lines);
    if (this.kept.length > this.max) this.kept.splice(0, this.kept.length - this.max);
  }
}
