/**
 * Shell patterns inside `${VAR#p}`, `${VAR%p}`, `${VAR/p/r}`: `*`, `?` and `\` escapes, no
 * bracket expressions (BuildKit's choice). Patterns become regular expressions; suffix removal is
 * done by reversing both pattern and value, because a regex cannot find the shortest rightmost match.
 */

/** Thrown for a malformed pattern; the lexer wraps it with the `${…}` context. */
export class PatternError extends Error {}

// Go's `.` never matches a newline; JS's also skips \r and U+2028/9, so spell Go's out.
const ANY = '[^\\n]';
const REGEX_SPECIAL = new Set(['[', ']', '{', '}', '.', '+', '(', ')', '|', '^', '$']);

export function shellPatternToRegex(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  const chars = [...pattern];
  let out = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') {
      out += greedy ? `${ANY}*` : `${ANY}*?`;
    } else if (ch === '?') {
      out += ANY;
    } else if (ch === '\\') {
      const next = chars[i + 1];
      // `\}` and `\/` are escaped only so the `${…}` parser does not stop there.
      if (next === '}' || next === '/') continue;
      if (next !== '*' && next !== '?' && next !== '\\') {
        throw new PatternError(`invalid escape '\\${next ?? '\uFFFD'}'`);
      }
      out += '\\' + next;
      i++;
    } else if (REGEX_SPECIAL.has(ch)) {
      out += '\\' + ch;
    } else {
      out += ch;
    }
  }
  return new RegExp(out, 'u');
}

/** Reverses a pattern without splitting escapes: `a\*c` → `c\*a`. */
function reversePattern(pattern: string): string {
  const chars = [...pattern];
  const out: string[] = [];
  for (let i = 0; i < chars.length; ) {
    if (chars[i] === '\\' && i !== chars.length - 1) {
      out.unshift(chars[i]!, chars[i + 1]!);
      i += 2;
    } else {
      out.unshift(chars[i]!);
      i++;
    }
  }
  return out.join('');
}

function reverse(s: string): string {
  return [...s].reverse().join('');
}

export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegex(pattern, greedy, true).exec(value);
  return m ? value.slice(m.index + m[0].length) : value;
}

export function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverse(trimPrefix(reversePattern(pattern), reverse(value), greedy));
}

/**
 * `${VAR/p/r}` and `${VAR//p/r}`. The first form splices the replacement in verbatim; the second
 * goes through Go's Regexp.ReplaceAllString, whose replacement is a template (`$$`, `$0`, `${name}`).
 */
export function replacePattern(pattern: string, value: string, replacement: string, all: boolean): string {
  const re = shellPatternToRegex(pattern, true, false);
  if (!all) {
    const m = re.exec(value);
    return m ? value.slice(0, m.index) + replacement + value.slice(m.index + m[0].length) : value;
  }
  return value.replace(new RegExp(re.source, 'gu'), (match) => expandGoTemplate(replacement, match));
}

const NAME_CHAR = /^[\p{L}\p{Nd}_]$/u;

/** Go's Regexp.Expand for a regex without capture groups: only `$$` and `$0` produce text. */
function expandGoTemplate(template: string, match: string): string {
  let out = '';
  let rest = template;
  for (;;) {
    const dollar = rest.indexOf('$');
    if (dollar < 0) break;
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const ref = extractTemplateName(rest);
    if (!ref) {
      out += '$';
      continue;
    }
    rest = ref.rest;
    if (ref.name === '0') out += match;
  }
  return out + rest;
}

function extractTemplateName(s: string): { name: string; rest: string } | undefined {
  const brace = s.startsWith('{');
  const chars = [...(brace ? s.slice(1) : s)];
  let n = 0;
  while (n < chars.length && NAME_CHAR.test(chars[n]!)) n++;
  if (n === 0) return undefined;
  const name = chars.slice(0, n).join('');
  if (brace) {
    if (chars[n] !== '}') return undefined;
    return { name, rest: chars.slice(n + 1).join('') };
  }
  return { name, rest: chars.slice(n).join('') };
}
