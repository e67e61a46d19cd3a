/**
 * Go's path/filepath (Unix flavour) as .dockerignore handling needs it: Clean, Dir, and the
 * syntax rules of filepath.Match, which decide which patterns are rejected up front.
 */

/** filepath.Clean: collapses `//`, `.` and `..` lexically; "" becomes ".". */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/** filepath.Dir: everything before the last `/`, cleaned. */
export function dirPath(p: string): string {
  const slash = p.lastIndexOf('/');
  return cleanPath(p.slice(0, slash + 1));
}

/** One `[...]` class as filepath.Match reads it. */
export interface GlobClass {
  negated: boolean;
  ranges: [number, number][];
  /** Index just after the closing `]`. */
  end: number;
}

/**
 * Reads the class starting after `[` at `start` in `chars` (code points). Returns undefined when
 * the class is malformed by filepath.Match's rules: empty, unterminated, a bare `-` or `]`
 * where a character is expected, or a trailing `\`.
 */
export function readGlobClass(chars: string[], start: number): GlobClass | undefined {
  let i = start;
  let negated = false;
  if (chars[i] === '^') {
    negated = true;
    i++;
  }
  const ranges: [number, number][] = [];
  const readChar = (): number | undefined => {
    if (i >= chars.length || chars[i] === '-' || chars[i] === ']') return undefined;
    if (chars[i] === '\\') {
      i++;
      if (i >= chars.length) return undefined;
    }
    const cp = chars[i++]!.codePointAt(0)!;
    return i >= chars.length ? undefined : cp; // a class must still be closed after it
  };
  for (;;) {
    if (chars[i] === ']' && ranges.length > 0) return { negated, ranges, end: i + 1 };
    const lo = readChar();
    if (lo === undefined) return undefined;
    let hi = lo;
    if (chars[i] === '-') {
      i++;
      const h = readChar();
      if (h === undefined) return undefined;
      hi = h;
    }
    ranges.push([lo, hi]);
  }
}

/** Whether filepath.Match would reject `pattern` as malformed (ErrBadPattern). */
export function isBadGlob(pattern: string): boolean {
  const chars = [...pattern];
  for (let i = 0; i < chars.length; ) {
    const ch = chars[i];
    if (ch === '\\') {
      if (i + 1 >= chars.length) return true;
      i += 2;
    } else if (ch === '[') {
      const cls = readGlobClass(chars, i + 1);
      if (!cls) return true;
      i = cls.end;
    } else {
      i++;
    }
  }
  return false;
}
