/**
 * A tiny terminal: the VT100/ECMA-48 subset a progress view uses (printable text with autowrap,
 * CR, LF, BS, cursor up/down/forward/back, previous/next line, erase in line, erase in display,
 * cursor position), enough to rebuild what a screen of `rows`×`cols` shows. Other sequences
 * (colours, cursor visibility, OSC) are read and ignored. Lines that scroll off the top are kept
 * in `scrolledOff`, which is how a test sees a view that scrolls.
 */
export class VtScreen {
  readonly lines: string[][];
  readonly scrolledOff: string[] = [];
  private row = 0;
  private col = 0;
  /** Autowrap is deferred: a character in the last column moves on only when the next one comes. */
  private wrapPending = false;
  private pending = '';

  constructor(
    readonly rows: number,
    readonly cols: number,
  ) {
    this.lines = Array.from({ length: rows }, () => this.blank());
  }

  /** The screen as text, one string per row, trailing spaces removed. */
  text(): string[] {
    return this.lines.map((l) => l.join('').trimEnd());
  }

  write(data: string): void {
    const s = this.pending + data;
    this.pending = '';
    let i = 0;
    while (i < s.length) {
      const ch = s[i]!;
      if (ch === '\x1b') {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what this reads
        const seq = /^\x1b(?:\[([0-?]*)[ -/]*([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/.exec(s.slice(i));
        if (!seq) {
          this.pending = s.slice(i); // an escape cut between two writes
          return;
        }
        if (seq[2]) this.csi(seq[1] ?? '', seq[2]);
        i += seq[0].length;
        continue;
      }
      const cp = s.codePointAt(i)!;
      const char = String.fromCodePoint(cp);
      i += char.length;
      if (char === '\r') this.carriageReturn();
      else if (char === '\n') this.lineFeed();
      else if (char === '\b') this.moveTo(this.row, this.col - 1);
      else if (cp >= 0x20 && cp !== 0x7f) this.put(char);
    }
  }

  private blank(): string[] {
    return Array.from({ length: this.cols }, () => ' ');
  }

  private put(char: string): void {
    if (this.wrapPending) {
      this.carriageReturn();
      this.lineFeed();
    }
    this.lines[this.row]![this.col] = char;
    if (this.col === this.cols - 1) this.wrapPending = true;
    else this.col++;
  }

  private carriageReturn(): void {
    this.col = 0;
    this.wrapPending = false;
  }

  private lineFeed(): void {
    this.wrapPending = false;
    if (this.row < this.rows - 1) {
      this.row++;
      return;
    }
    this.scrolledOff.push(this.lines.shift()!.join('').trimEnd());
    this.lines.push(this.blank());
  }

  private moveTo(row: number, col: number): void {
    this.row = Math.min(this.rows - 1, Math.max(0, row));
    this.col = Math.min(this.cols - 1, Math.max(0, col));
    this.wrapPending = false;
  }

  private csi(params: string, final: string): void {
    if (params.startsWith('?')) return; // private modes (cursor visibility, …)
    const nums = params.split(';').map((p) => (p === '' ? undefined : Number(p)));
    const n = nums[0] ?? 1;
    switch (final) {
      case 'A':
        this.moveTo(this.row - n, this.col);
        break;
      case 'B':
        this.moveTo(this.row + n, this.col);
        break;
      case 'C':
        this.moveTo(this.row, this.col + n);
        break;
      case 'D':
        this.moveTo(this.row, this.col - n);
        break;
      case 'E':
        this.moveTo(this.row + n, 0);
        break;
      case 'F':
        this.moveTo(this.row - n, 0);
        break;
      case 'G':
        this.moveTo(this.row, n - 1);
        break;
      case 'H':
      case 'f':
        this.moveTo((nums[0] ?? 1) - 1, (nums[1] ?? 1) - 1);
        break;
      case 'K':
        this.eraseInLine(nums[0] ?? 0);
        break;
      case 'J':
        this.eraseInDisplay(nums[0] ?? 0);
        break;
      default:
        break; // SGR (colours) and the rest change nothing a test reads
    }
  }

  private eraseInLine(mode: number): void {
    const line = this.lines[this.row]!;
    const [from, to] = mode === 0 ? [this.col, this.cols] : mode === 1 ? [0, this.col + 1] : [0, this.cols];
    for (let c = from; c < to; c++) line[c] = ' ';
  }

  private eraseInDisplay(mode: number): void {
    if (mode === 0) {
      this.eraseInLine(0);
      for (let r = this.row + 1; r < this.rows; r++) this.lines[r] = this.blank();
    } else if (mode === 1) {
      this.eraseInLine(1);
      for (let r = 0; r < this.row; r++) this.lines[r] = this.blank();
    } else {
      for (let r = 0; r < this.rows; r++) this.lines[r] = this.blank();
    }
  }
}
