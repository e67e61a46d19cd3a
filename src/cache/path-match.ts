/**
 * Go's filepath.Match, which COPY/ADD use for wildcard sources: `*` and `?` never match `/`,
 * `[...]` classes with `^` negation (only `^`: Go has no `!`) and ranges, `\` escapes the next
 * character. A port of the Go algorithm rather than a regex translation, so malformed patterns
 * fail exactly where Go's do.
 */
import { UserError } from '../errors.js';

/** BuildKit's containsWildcards: `*`, `?` or `[` not escaped by a backslash. */
export function hasWildcard(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

export class BadPatternError extends UserError {
  constructor(pattern: string) {
    super(`syntax error in pattern "${pattern}"`, {
      hint: 'check the [...] classes (no empty class, ranges low-high) and escape a trailing \\',
    });
  }
}

const BAD = Symbol('bad pattern');

/** Splits off the leading stars and the chunk up to the next star outside a class. */
function scanChunk(p: string[]): { star: boolean; chunk: string[]; rest: string[] } {
  let i = 0;
  let star = false;
  while (i < p.length && p[i] === '*') {
    i++;
    star = true;
  }
  const start = i;
  let inRange = false;
  for (; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      if (i + 1 < p.length) i++;
    } else if (c === '[') inRange = true;
    else if (c === ']') inRange = false;
    else if (c === '*' && !inRange) break;
  }
  return { star, chunk: p.slice(start, i), rest: p.slice(i) };
}

function getEsc(chunk: string[], at: number): { r: string; next: number } | typeof BAD {
  if (at >= chunk.length || chunk[at] === '-' || chunk[at] === ']') return BAD;
  if (chunk[at] === '\\') {
    at++;
    if (at >= chunk.length) return BAD;
  }
  const r = chunk[at]!;
  if (at + 1 >= chunk.length) return BAD; // a class must still be closed
  return { r, next: at + 1 };
}

/** Matches one chunk at the start of `s`: the rest of `s`, undefined on no match, BAD on syntax. */
function matchChunk(chunk: string[], s: string[]): string[] | undefined | typeof BAD {
  let failed = false;
  let si = 0;
  let ci = 0;
  while (ci < chunk.length) {
    if (!failed && si >= s.length) failed = true;
    const c = chunk[ci]!;
    if (c === '[') {
      const r = failed ? '' : s[si++]!;
      ci++;
      let negated = false;
      if (ci < chunk.length && chunk[ci] === '^') {
        negated = true;
        ci++;
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (ci < chunk.length && chunk[ci] === ']' && nrange > 0) {
          ci++;
          break;
        }
        const lo = getEsc(chunk, ci);
        if (lo === BAD) return BAD;
        let hi: { r: string; next: number } = lo;
        if (chunk[lo.next] === '-') {
          const h = getEsc(chunk, lo.next + 1);
          if (h === BAD) return BAD;
          hi = h;
        }
        ci = hi.next;
        const cp = r.codePointAt(0) ?? -1;
        if (lo.r.codePointAt(0)! <= cp && cp <= hi.r.codePointAt(0)!) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
      continue;
    }
    if (c === '?') {
      if (!failed) {
        if (s[si] === '/') failed = true;
        si++;
      }
      ci++;
      continue;
    }
    let lit = c;
    if (c === '\\') {
      ci++;
      if (ci >= chunk.length) return BAD;
      lit = chunk[ci]!;
    }
    if (!failed) {
      if (lit !== s[si]) failed = true;
      si++;
    }
    ci++;
  }
  return failed ? undefined : s.slice(si);
}

/** Go's filepath.Match; a malformed pattern throws BadPatternError (Go's ErrBadPattern). */
export function pathMatch(pattern: string, path: string): boolean {
  let p = [...pattern];
  let name = [...path];
  outer: while (p.length > 0) {
    const { star, chunk, rest } = scanChunk(p);
    p = rest;
    if (star && chunk.length === 0) return !name.includes('/');
    const t = matchChunk(chunk, name);
    if (t === BAD) throw new BadPatternError(pattern);
    if (t && (t.length === 0 || p.length > 0)) {
      name = t;
      continue;
    }
    if (star) {
      for (let i = 0; i < name.length && name[i] !== '/'; i++) {
        const t2 = matchChunk(chunk, name.slice(i + 1));
        if (t2 === BAD) throw new BadPatternError(pattern);
        if (t2) {
          if (p.length === 0 && t2.length > 0) continue;
          name = t2;
          continue outer;
        }
      }
    }
    // No match: the rest of the pattern must still be well formed, as Go checks.
    while (p.length > 0) {
      const next = scanChunk(p);
      p = next.rest;
      if (matchChunk(next.chunk, []) === BAD) throw new BadPatternError(pattern);
    }
    return false;
  }
  return name.length === 0;
}
