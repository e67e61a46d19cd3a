/**
 * `.dockerignore`: reading the file (BuildKit's ignorefile.ReadAll) and matching context paths
 * (moby/patternmatcher's MatchesOrParentMatches). Patterns apply in order, the last that matches
 * wins, `!` re-includes, and a path is excluded when it or any parent directory matches.
 */
import { UserError } from '../errors.js';
import { goQuote, trimSpace } from '../go-compat.js';
import { cleanPath, dirPath, isBadGlob, readGlobClass } from './go-filepath.js';

/** The patterns of a .dockerignore file, comments and blanks dropped, paths cleaned. */
export function parseDockerignore(text: string): string[] {
  const patterns: string[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (i === 0 && line.startsWith('\uFEFF')) line = line.slice(1);
    if (line.startsWith('#')) return; // only a `#` in column 0 starts a comment
    let pattern = trimSpace(line);
    if (pattern === '') return;
    const invert = pattern.startsWith('!');
    if (invert) pattern = trimSpace(pattern.slice(1));
    if (pattern !== '') {
      pattern = cleanPath(pattern);
      // `/a` means `a`: patterns are relative to the context root either way.
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push(invert ? '!' + pattern : pattern);
  });
  return patterns;
}

const ANY = '[^\\n]'; // Go's `.`
const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|/]/; // exactly what a `u` regex lets us escape

function literal(ch: string): string {
  return REGEX_SPECIAL.test(ch) ? '\\' + ch : ch;
}

function classChar(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

type Compiled =
  | { kind: 'exact' }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'suffix'; suffix: string }
  | { kind: 'regex'; re: RegExp }
  | { kind: 'bad' };

/**
 * patternmatcher's compile step: plain patterns compare as strings, `dir/**` as a prefix,
 * `**‍/name` as a suffix, everything else through a regular expression. `*` and `?` never cross
 * `/`; `**` crosses any number of directories.
 */
function compile(pattern: string): Compiled {
  const chars = [...pattern];
  let re = '^';
  let kind: 'exact' | 'prefix' | 'suffix' | 'regex' = 'exact';
  for (let pos = 0, token = 0; pos < chars.length; token++) {
    const ch = chars[pos++]!;
    if (ch === '*' && chars[pos] === '*') {
      pos++;
      if (chars[pos] === '/') pos++; // `**/` is `**`
      if (pos >= chars.length) {
        if (kind === 'exact') kind = 'prefix';
        else {
          re += `${ANY}*`;
          kind = 'regex';
        }
      } else {
        re += `(?:${ANY}*/)?`;
        kind = 'regex';
      }
      if (token === 0) kind = 'suffix';
    } else if (ch === '*') {
      re += '[^/]*';
      kind = 'regex';
    } else if (ch === '?') {
      re += '[^/]';
      kind = 'regex';
    } else if (ch === '\\') {
      re += literal(chars[pos++] ?? '\\');
      kind = 'regex';
    } else if (ch === '[') {
      const cls = readGlobClass(chars, pos);
      if (!cls || cls.ranges.some(([lo, hi]) => lo > hi)) return { kind: 'bad' };
      const body = cls.ranges
        .map(([lo, hi]) => (lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`))
        .join('');
      re += `[${cls.negated ? '^' : ''}${body}]`;
      pos = cls.end;
      kind = 'regex';
    } else {
      re += literal(ch);
      if (ch === ']') kind = 'regex';
    }
  }
  switch (kind) {
    case 'exact':
      return { kind };
    case 'prefix':
      return { kind, prefix: pattern.slice(0, -2) };
    case 'suffix':
      return { kind, suffix: pattern.slice(2) };
    default:
      return { kind: 'regex', re: new RegExp(re + '$', 'u') };
  }
}

class Pattern {
  readonly compiled: Compiled;
  constructor(
    readonly text: string,
    readonly exclusion: boolean,
  ) {
    this.compiled = compile(text);
  }

  match(path: string): boolean {
    const c = this.compiled;
    switch (c.kind) {
      case 'exact':
        return path === this.text;
      case 'prefix':
        return path.startsWith(c.prefix);
      case 'suffix':
        // `**/foo` matches `foo` itself too
        return path.endsWith(c.suffix) || (c.suffix.startsWith('/') && path === c.suffix.slice(1));
      case 'regex':
        return c.re.test(path);
      case 'bad':
        throw new UserError(`syntax error in .dockerignore pattern ${goQuote(this.text)}`, {
          hint: 'a [...] range must run from a lower to a higher character',
        });
    }
  }
}

export class IgnoreMatcher {
  private readonly list: Pattern[] = [];

  /** Throws a UserError for a malformed pattern (filepath.Match syntax) or a lone `!`. */
  constructor(patterns: readonly string[]) {
    for (const raw of patterns) {
      let p = trimSpace(raw);
      if (p === '') continue;
      p = cleanPath(p);
      const exclusion = p.startsWith('!');
      if (exclusion) {
        if (p.length === 1)
          throw new UserError('illegal exclusion pattern: "!"', { hint: 'write !<path> to re-include a path' });
        p = p.slice(1);
      }
      if (isBadGlob(p)) {
        throw new UserError(`syntax error in .dockerignore pattern ${goQuote(raw)}`, {
          hint: 'check the [...] classes and escape a trailing \\',
        });
      }
      this.list.push(new Pattern(p, exclusion));
    }
  }

  /** The cleaned patterns, exclusions with their `!`. */
  get patterns(): string[] {
    return this.list.map((p) => (p.exclusion ? '!' + p.text : p.text));
  }

  get hasExclusions(): boolean {
    return this.list.some((p) => p.exclusion);
  }

  /** True when `relPath` (slash-separated, relative to the context) is excluded from the context. */
  matches(relPath: string): boolean {
    const parent = dirPath(relPath);
    const parentDirs = parent.split('/');
    let matched = false;
    for (const pattern of this.list) {
      // An inclusion cannot change an already matched path, nor an exclusion an unmatched one.
      if (pattern.exclusion !== matched) continue;
      let hit = pattern.match(relPath);
      if (!hit && parent !== '.') {
        for (let i = 1; i <= parentDirs.length && !hit; i++) hit = pattern.match(parentDirs.slice(0, i).join('/'));
      }
      if (hit) matched = !pattern.exclusion;
    }
    return matched;
  }

  /**
   * True when the directory `relDir` is excluded and no `!` pattern could re-include anything
   * under it, so a context walk need not descend into it at all. Errs on the side of false.
   */
  canSkipDir(relDir: string): boolean {
    const dir = cleanPath(relDir);
    if (dir === '.' || dir === '/' || !this.matches(dir)) return false;
    const dirSegments = dir.split('/');
    return !this.list.some((p) => p.exclusion && mayMatchUnder(p.text, dirSegments));
  }
}

/** Whether `pattern` could match `dir`, an ancestor of it, or something below it. */
function mayMatchUnder(pattern: string, dirSegments: string[]): boolean {
  const segments = pattern.split('/');
  const n = Math.min(segments.length, dirSegments.length);
  for (let i = 0; i < n; i++) {
    const seg = segments[i]!;
    if (seg.includes('**')) return true;
    const c = compile(seg);
    if (c.kind === 'bad' || c.kind === 'prefix' || c.kind === 'suffix') return true;
    const hit = c.kind === 'exact' ? seg === dirSegments[i] : c.re.test(dirSegments[i]!);
    if (!hit) return false;
  }
  return true;
}
