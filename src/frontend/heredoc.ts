/**
 * Heredoc detection, BuildKit's way: lex the instruction line into words (keeping quotes and
 * escapes), and any word shaped like `[n]<<[-]WORD` names a heredoc. Whether the body is expanded
 * depends on whether the delimiter was quoted, which is read off by lexing it twice, with and
 * without raw quotes: an escaped quote survives both passes, a quoting quote only the raw one.
 */
import { ShellLex } from './shell-lexer.js';

export interface HeredocMarker {
  /** The delimiter after quote removal: `<<eo'f'` names `eof`. */
  name: string;
  /** `3<<EOF` redirects file descriptor 3; 0 when no digits are given. */
  fileDescriptor: number;
  /** False when any part of the delimiter was quoted. */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from the body (and from the terminator line). */
  chomp: boolean;
}

const HEREDOC_WORD = /^([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)$/;
const noEnv = (): undefined => undefined;

// The escape character is always `\` here, whatever `# escape=` says: BuildKit hard-codes it.
const cookedLexer = new ShellLex('\\', { skipUnsetEnv: true });
const rawQuoteLexer = new ShellLex('\\', { skipUnsetEnv: true, rawQuotes: true });
const lineLexer = new ShellLex('\\', { skipUnsetEnv: true, rawQuotes: true, rawEscapes: true });

/**
 * Parses one word as a heredoc marker. Returns undefined for a word that is not one; throws a
 * UserError when the delimiter cannot be lexed (an unterminated quote, as in `<<'EOF`).
 */
export function parseHeredoc(word: string): HeredocMarker | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m) return undefined;
  const [, digits, dash, rest] = m as unknown as [string, string, string, string];
  if (rest === '') return undefined;
  const words = cookedLexer.processWords(rest, noEnv);
  if (words.length !== 1) return undefined;
  const raw = rawQuoteLexer.processWords(rest, noEnv);
  const name = words[0]!;
  return {
    name,
    fileDescriptor: digits === '' ? 0 : Number.parseInt(digits, 10),
    expand: countQuotes(name) === countQuotes(raw[0] ?? ''),
    chomp: dash === '-',
  };
}

function countQuotes(s: string): number {
  let n = 0;
  for (const ch of s) if (ch === "'" || ch === '"') n++;
  return n;
}

/** The heredocs an instruction line (keyword and flags included) opens, in order. */
export function heredocsFromLine(line: string): HeredocMarker[] {
  let words: string[];
  try {
    words = lineLexer.processWords(line, noEnv);
  } catch {
    return []; // a line the lexer cannot split opens no heredoc; its own parser reports the problem
  }
  const markers: HeredocMarker[] = [];
  for (const word of words) {
    const marker = parseHeredoc(word);
    if (marker) markers.push(marker);
  }
  return markers;
}

/** `<<-` bodies lose the leading tabs of every line. */
export function chompHeredocContent(content: string): string {
  // Go's (?m)^ starts lines only after \n; JS's `m` flag would also split at \r.
  return content.replace(/(^|\n)\t+/g, '$1');
}
