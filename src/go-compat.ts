/**
 * Small pieces of Go's standard library whose exact behaviour BuildKit's Dockerfile frontend
 * depends on. They live here so every layer splits, trims and quotes the way BuildKit does.
 */

const WHITE_SPACE = /^\p{White_Space}$/u;

/** Go's unicode.IsSpace: the Unicode White_Space property (which covers \t\n\v\f\r, U+0085, U+00A0). */
export function isSpace(ch: string): boolean {
  return WHITE_SPACE.test(ch);
}

/** Go's strings.TrimLeftFunc(s, unicode.IsSpace). */
export function trimLeftSpace(s: string): string {
  return s.replace(/^\p{White_Space}+/u, '');
}

/** Go's strings.TrimSpace. */
export function trimSpace(s: string): string {
  return s.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '');
}

const GO_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r' };
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/**
 * Go's strconv.Quote (%q), which BuildKit uses in AST dumps and in messages such as
 * `failed to process "…"`. Non-printable characters are escaped, printable Unicode is kept.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (GO_ESCAPES[cp]) out += GO_ESCAPES[cp];
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (PRINTABLE.test(ch)) out += ch;
    else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}

/** UTF-8 length, the unit of Go's line-length limits. */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
