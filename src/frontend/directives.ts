/**
 * Parser directives (`# syntax=`, `# escape=`, `# check=`): only the leading comment lines of a
 * Dockerfile can hold them, and the first line that is not a well-formed, known directive ends
 * the scan for good — so `# escape=` after any other comment is just a comment.
 */
import { UserError } from '../errors.js';
import { trimLeftSpace } from '../go-compat.js';

export const DIRECTIVE_NAMES = ['syntax', 'escape', 'check'] as const;

export interface Directive {
  /** Lowercased name. */
  name: string;
  value: string;
  /** 1-based line (counting a skipped `#!` line). */
  line: number;
}

// Go's \s is [\t\n\f\r ] and its `.` excludes only \n.
const DIRECTIVE = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*([^\n]+?)[\t\n\f\r ]*$/;

/** Feeds lines one at a time; stops recognising directives at the first line that is not one. */
export class DirectiveScanner {
  private line: number;
  private done = false;
  private readonly seen = new Set<string>();

  constructor(
    private readonly commentPrefix = '#',
    firstLine = 0,
  ) {
    this.line = firstLine;
  }

  /** True once a line that is not a directive has been seen. */
  get finished(): boolean {
    return this.done;
  }

  /** Throws a UserError for a repeated directive; the caller adds the location. */
  parseLine(text: string): Directive | undefined {
    this.line++;
    if (this.done) return undefined;
    if (!text.startsWith(this.commentPrefix)) {
      this.done = true;
      return undefined;
    }
    const m = DIRECTIVE.exec(trimLeftSpace(text.slice(this.commentPrefix.length)));
    const name = m?.[1]?.toLowerCase();
    if (!m || !(DIRECTIVE_NAMES as readonly string[]).includes(name!)) {
      this.done = true;
      return undefined;
    }
    if (this.seen.has(name!)) throw new UserError(`only one ${name} parser directive can be used`);
    this.seen.add(name!);
    return { name: name!, value: m[2]!, line: this.line };
  }
}

/** Go's bufio line splitting: lines end at \n, and a \r before it is dropped. */
function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** Every directive at the top of `text`, in order. */
export function parseDirectives(text: string, commentPrefix = '#', firstLine = 0): Directive[] {
  const scanner = new DirectiveScanner(commentPrefix, firstLine);
  const found: Directive[] = [];
  for (const line of splitLines(text)) {
    const d = scanner.parseLine(line);
    if (d) found.push(d);
    else if (scanner.finished) break;
  }
  return found;
}

export interface DirectiveLookup {
  /** The value up to its first space (`# syntax=img // opts` → `img`). */
  ref: string;
  /** The whole value. */
  cmdline: string;
  /** 1-based line; 0 for the JSON form. */
  line: number;
}

/**
 * The `syntax` directive, looked up the way BuildKit's DetectSyntax does: `#` comments, then
 * `//` comments, then the whole file as a JSON object with a string "syntax" key.
 */
export function detectSyntax(text: string): DirectiveLookup | undefined {
  return lookupDirective('syntax', text, true);
}

/** One directive from `#` comments only (`check`, `escape`, …). */
export function findDirective(name: string, text: string): DirectiveLookup | undefined {
  return lookupDirective(name, text, false);
}

/** Like parseDirectives, but a repeated directive just ends the scan (lookups never fail). */
function directivesBeforeError(text: string, prefix: string, firstLine: number): Directive[] {
  const scanner = new DirectiveScanner(prefix, firstLine);
  const found: Directive[] = [];
  for (const line of splitLines(text)) {
    try {
      const d = scanner.parseLine(line);
      if (d) found.push(d);
      else if (scanner.finished) break;
    } catch {
      break;
    }
  }
  return found;
}

function lookupDirective(name: string, text: string, anyFormat: boolean): DirectiveLookup | undefined {
  let body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let firstLine = 0;
  const nl = body.indexOf('\n');
  if ((nl < 0 ? body : body.slice(0, nl)).startsWith('#!')) {
    body = nl < 0 ? '' : body.slice(nl + 1);
    firstLine = 1;
  }
  const prefixes = anyFormat ? ['#', '//'] : ['#'];
  for (const prefix of prefixes) {
    const found = directivesBeforeError(body, prefix, firstLine).find((d) => d.name === name);
    if (found) return { ref: found.value.split(' ')[0]!, cmdline: found.value, line: found.line };
  }
  if (!anyFormat) return undefined;
  try {
    const obj: unknown = JSON.parse(body);
    if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
      const v = (obj as Record<string, unknown>)[name];
      if (typeof v === 'string') return { ref: v, cmdline: v, line: firstLine };
    }
  } catch {
    // not JSON: no directive
  }
  return undefined;
}
