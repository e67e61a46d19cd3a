/**
 * Dockerfile bytes → raw instructions, with BuildKit's parser rules: logical lines (escape
 * continuations, comments and blank lines inside them), parser directives, heredoc bodies, and
 * each instruction's arguments exactly as BuildKit's AST holds them. No meaning is given here:
 * unknown instructions are kept, values stay quoted and unexpanded.
 *
 * Why not dockerfile-ast for the line structure, as DESIGN.md suggests: on 0.7.1 its
 * instruction boundaries disagree with BuildKit on the conformance corpus — it joins
 * `ENV C trailing\\` with the next line (7 instructions instead of 8 in `trailing-backslash`), and
 * finds heredocs by its own rules instead of BuildKit's shell-word lexer (23 instead of 28 in the
 * heredoc document: `RUN <<  EOF`, `RUN <<eo'f'`, …). Patching its boundaries afterwards would be
 * more code than BuildKit's own short line algorithm, so that algorithm lives here, tracking
 * positions itself.
 */
import { UserError, withLocation, type SourceLocation } from '../errors.js';
import { DirectiveScanner } from './directives.js';
import { trimLeftSpace, utf8Length } from '../go-compat.js';
import { chompHeredocContent, heredocsFromLine } from './heredoc.js';
import type { Heredoc, ParsedDirectives } from './instruction-types.js';
import { LINE_PARSERS, LineParseError, parseIgnore } from './line-parsers.js';
import { splitCommand } from './split-command.js';

export interface RawFlag {
  /** Without the leading `--`. */
  name: string;
  /** Undefined for `--flag` without `=`. */
  value?: string;
  location: SourceLocation;
}

/** A heredoc as the parser reads it: the body exactly as written (not chomped yet). */
export interface RawHeredoc extends Heredoc {
  /** `3<<EOF` feeds file descriptor 3; 0 by default. */
  fileDescriptor: number;
}

export interface RawInstruction {
  /** Uppercased keyword (`from`, `From` → `FROM`). */
  keyword: string;
  /** The keyword as written, for messages such as `unknown instruction: foo`. */
  writtenKeyword: string;
  flags: RawFlag[];
  /** BuildKit's AST values for the arguments (see line-parsers.ts). */
  args: string[];
  /** Exec form (a JSON array). */
  json: boolean;
  heredocs: RawHeredoc[];
  /** Where the keyword is; the excerpt is the instruction's lines (heredoc bodies excluded). */
  location: SourceLocation;
  /** Last physical line, heredoc bodies included. */
  endLine: number;
  /** The logical line: continuations joined, comments dropped, heredoc bodies excluded. */
  original: string;
  /** ONBUILD only: the trigger instruction, parsed like any other (its heredocs included). */
  trigger?: RawInstruction;
  /**
   * The `#` comment lines since the previous instruction, without `#` and trimmed, as BuildKit
   * keeps them: an empty `#` line starts afresh, parser directives are left out.
   */
  comments: string[];
}

export interface RawDockerfile {
  directives: ParsedDirectives;
  instructions: RawInstruction[];
  /** Instructions with a blank line inside their continuation, at their last line (NoEmptyContinuation). */
  emptyContinuations: { location: SourceLocation; instruction: string }[];
}

/** bufio.Scanner's default limit, which is BuildKit's line limit. */
const MAX_LINE_BYTES = 65535;
const HEREDOC_KEYWORDS = new Set(['ADD', 'COPY', 'RUN']);

/** The physical lines, each checked against the length limit when first read. */
class Lines {
  private readonly lines: string[];
  private readonly lastHasNewline: boolean;

  constructor(
    source: string,
    private readonly file: string,
  ) {
    this.lines = source.split('\n');
    this.lastHasNewline = this.lines[this.lines.length - 1] === '';
    if (this.lastHasNewline) this.lines.pop();
    if (this.lines.length > 0 && this.lines[0]!.startsWith('\uFEFF')) this.lines[0] = this.lines[0]!.slice(1);
  }

  get count(): number {
    return this.lines.length;
  }

  /** Line `n` (1-based) without its newline, and with trailing \r removed. */
  text(n: number): string {
    return this.raw(n).replace(/\r+$/, '');
  }

  /** Line `n` as a heredoc body line: CRLF becomes LF, a missing final newline stays missing. */
  bodyLine(n: number): string {
    const hasNewline = n < this.lines.length || this.lastHasNewline;
    return this.raw(n).replace(/\r$/, '') + (hasNewline ? '\n' : '');
  }

  private raw(n: number): string {
    const line = this.lines[n - 1]!;
    if (line.length > MAX_LINE_BYTES / 3 && utf8Length(line) > MAX_LINE_BYTES) {
      throw new UserError(`dockerfile line greater than max allowed size of ${MAX_LINE_BYTES}`, {
        location: { file: this.file, line: n, column: 1 },
      });
    }
    return line;
  }
}

/** Maps offsets in a logical (joined) line back to physical line and column. */
class PositionMap {
  private readonly segments: { start: number; line: number; column: number }[] = [];

  add(start: number, line: number, column: number): void {
    this.segments.push({ start, line, column });
  }

  at(offset: number): { line: number; column: number } {
    let seg = this.segments[0]!;
    for (const s of this.segments) if (s.start <= offset) seg = s;
    return { line: seg.line, column: seg.column + (offset - seg.start) + 1 };
  }
}

function isComment(text: string): boolean {
  return trimLeftSpace(text).startsWith('#');
}

function continuationPattern(escape: string): RegExp {
  const e = escape === '\\' ? '\\\\' : escape;
  // The escape as the last non-blank character continues the line, unless it is itself escaped.
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

class Parser {
  private readonly lines: Lines;
  private readonly directiveScanner = new DirectiveScanner();
  private readonly directives: ParsedDirectives = { escape: '\\' };
  private continuation = continuationPattern('\\');
  private readonly instructions: RawInstruction[] = [];
  private readonly emptyContinuations: RawDockerfile['emptyContinuations'] = [];
  private comments: string[] = [];
  private next = 1;

  constructor(
    source: string,
    private readonly file: string,
  ) {
    this.lines = new Lines(source, file);
  }

  parse(): RawDockerfile {
    while (this.next <= this.lines.count) this.parseInstruction();
    if (this.instructions.length === 0) {
      throw new UserError('file with no instructions', {
        location: { file: this.file, line: Math.max(1, this.lines.count), column: 1 },
        hint: 'a Dockerfile needs at least a FROM instruction',
      });
    }
    return {
      directives: this.directives,
      instructions: this.instructions,
      emptyContinuations: this.emptyContinuations,
    };
  }

  private parseInstruction(): void {
    const startLine = this.next++;
    const text = this.lines.text(startLine);
    const lead = text.length - trimLeftSpace(text).length;
    const first = text.slice(lead);
    const isDirective = this.checkDirective(first, startLine);
    if (isComment(first) && !isDirective) {
      const comment = first.slice(1).trim();
      this.comments = comment === '' ? [] : [...this.comments, comment];
    }

    let [joined, ended] = this.trimContinuation(isComment(first) ? '' : first);
    if (ended && joined === '') return; // blank or comment line
    const positions = new PositionMap();
    positions.add(0, startLine, lead);

    let emptyContinuation = false;
    while (!ended && this.next <= this.lines.count) {
      const n = this.next++;
      const line = this.lines.text(n);
      if (isComment(line)) continue;
      if (trimLeftSpace(line) === '') {
        emptyContinuation = true;
        continue;
      }
      let part: string;
      [part, ended] = this.trimContinuation(line);
      positions.add(joined.length, n, 0);
      joined += part;
    }
    const lastTextLine = this.next - 1;
    const excerpt = this.excerpt(startLine, lastTextLine);
    const locate = (offset: number, withExcerpt = false): SourceLocation => {
      const p = positions.at(offset);
      return { file: this.file, ...p, excerpt: withExcerpt ? excerpt : this.lines.text(p.line) };
    };

    if (emptyContinuation) {
      // BuildKit points at the instruction's last line
      this.emptyContinuations.push({
        location: { file: this.file, line: lastTextLine, column: 1, excerpt: this.lines.text(lastTextLine) },
        instruction: joined,
      });
    }

    const ins = this.buildInstruction(joined, 0, locate);
    const target = ins.trigger ?? ins;
    if (HEREDOC_KEYWORDS.has(target.keyword) && !target.json && joined.includes('<<')) {
      ins.heredocs = this.readHeredocs(joined, ins.location);
      if (ins.trigger) ins.trigger.heredocs = ins.heredocs;
    }
    ins.endLine = this.next - 1;
    if (ins.trigger) ins.trigger.endLine = ins.endLine;
    ins.comments = this.comments;
    this.comments = [];
    this.instructions.push(ins);
  }

  /** One logical line (or an ONBUILD trigger inside one) → a raw instruction. */
  private buildInstruction(
    line: string,
    base: number,
    locate: (offset: number, withExcerpt?: boolean) => SourceLocation,
  ): RawInstruction {
    const split = splitCommand(line);
    const keyword = split.keyword.toUpperCase();
    const location = locate(base + split.keywordOffset, true);
    const flags = split.flags.map((f): RawFlag => {
      const body = f.text.slice(2);
      const eq = body.indexOf('=');
      const flagLocation = locate(base + f.offset);
      return eq < 0
        ? { name: body, location: flagLocation }
        : { name: body.slice(0, eq), value: body.slice(eq + 1), location: flagLocation };
    });
    const ins: RawInstruction = {
      keyword,
      writtenKeyword: split.keyword,
      flags,
      args: [],
      json: false,
      heredocs: [],
      location,
      endLine: location.line,
      original: line,
      comments: [],
    };
    if (keyword === 'ONBUILD') {
      if (split.args !== '') ins.trigger = this.buildInstruction(split.args, base + split.argsOffset, locate);
      return ins;
    }
    const parseArgs = LINE_PARSERS[keyword.toLowerCase()] ?? parseIgnore;
    try {
      const parsed = parseArgs(split.args, this.directives.escape);
      ins.args = parsed.args;
      ins.json = parsed.json;
    } catch (err) {
      if (err instanceof LineParseError) throw new UserError(err.message, { location, cause: err });
      throw err;
    }
    return ins;
  }

  /** Reads the bodies of the heredocs `line` opens, one after another. */
  private readHeredocs(line: string, location: SourceLocation): RawHeredoc[] {
    let markers;
    try {
      markers = heredocsFromLine(line);
    } catch (err) {
      throw withLocation(err, location);
    }
    return markers.map((m) => {
      let content = '';
      while (this.next <= this.lines.count) {
        const n = this.next++;
        let candidate = this.lines.text(n);
        if (m.chomp) candidate = chompHeredocContent(candidate);
        if (candidate === m.name)
          return { name: m.name, fileDescriptor: m.fileDescriptor, expand: m.expand, chomp: m.chomp, content };
        content += this.lines.bodyLine(n);
      }
      throw new UserError('unterminated heredoc', {
        location,
        hint: `end the heredoc with a line holding only ${m.name}`,
      });
    });
  }

  /** True when the line is a parser directive. */
  private checkDirective(text: string, line: number): boolean {
    let directive;
    try {
      directive = this.directiveScanner.parseLine(text);
    } catch (err) {
      throw withLocation(err, { file: this.file, line, column: 1, excerpt: text });
    }
    if (!directive) return false;
    if (directive.name === 'escape') {
      if (directive.value !== '\\' && directive.value !== '`') {
        throw new UserError(`invalid escape token '${directive.value}' does not match \` or \\`, {
          location: { file: this.file, line, column: 1, excerpt: text },
        });
      }
      this.directives.escape = directive.value;
      this.continuation = continuationPattern(directive.value);
    } else if (directive.name === 'syntax') {
      this.directives.syntax = directive.value;
    } else if (directive.name === 'check') {
      this.directives.check = directive.value;
    }
    return true;
  }

  /** Removes a trailing continuation escape; reports whether the logical line ends here. */
  private trimContinuation(text: string): [string, boolean] {
    if (!this.continuation.test(text)) return [text, true];
    return [text.replace(this.continuation, '$1'), false];
  }

  private excerpt(from: number, to: number): string {
    const lines: string[] = [];
    for (let n = from; n <= to; n++) lines.push(this.lines.text(n));
    return lines.join('\n');
  }
}

/**
 * Parses a Dockerfile into raw instructions. Throws a UserError (with file, line and column) for
 * what BuildKit's parser rejects: no instructions, bad directives, non-string JSON arrays,
 * `ENV key` without a value, unterminated heredocs, lines over 65535 bytes.
 */
export function parseDockerfile(source: string, file: string): RawDockerfile {
  return new Parser(source, file).parse();
}
