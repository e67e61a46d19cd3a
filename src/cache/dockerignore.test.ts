import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { IgnoreMatcher, parseDockerignore } from './dockerignore.js';

describe('parseDockerignore', () => {
  it('drops comments and blanks, cleans paths, keeps `!`', () => {
    expect(parseDockerignore('# c\n  # not a comment\n\n/a/../b/\r\n! ./c//d\n**/*.log\n')).toEqual([
      '# not a comment',
      'b',
      '!c/d',
      '**/*.log',
    ]);
  });
});

describe('IgnoreMatcher.matches', () => {
  const m = new IgnoreMatcher(['node_modules', '*.log', '!keep.log', 'docs/**/*.md', '**/tmp']);

  it('matches a path or any of its parents', () => {
    expect(m.matches('node_modules')).toBe(true);
    expect(m.matches('node_modules/a/b.js')).toBe(true);
    expect(m.matches('src/node_modules')).toBe(false);
  });

  it('lets a later `!` re-include', () => {
    expect(m.matches('err.log')).toBe(true);
    expect(m.matches('keep.log')).toBe(false);
    expect(m.matches('sub/err.log')).toBe(false); // `*` does not cross `/`
  });

  it('`**` crosses directories, including none', () => {
    expect(m.matches('docs/a.md')).toBe(true);
    expect(m.matches('docs/x/y/a.md')).toBe(true);
    expect(m.matches('tmp')).toBe(true);
    expect(m.matches('a/b/tmp/c')).toBe(true);
  });

  it('character classes follow filepath.Match', () => {
    const c = new IgnoreMatcher(['file[0-9].txt', 'x[^a-c]', 'lit\\*']);
    expect(c.matches('file7.txt')).toBe(true);
    expect(c.matches('filea.txt')).toBe(false);
    expect(c.matches('xd')).toBe(true);
    expect(c.matches('xb')).toBe(false);
    expect(c.matches('lit*')).toBe(true);
    expect(c.matches('litx')).toBe(false);
  });

  it('rejects malformed patterns up front, as UserErrors', () => {
    expect(() => new IgnoreMatcher(['a['])).toThrow(UserError);
    expect(() => new IgnoreMatcher(['!'])).toThrow('illegal exclusion pattern: "!"');
    // A reversed range passes filepath.Match but fails on every match.
    const reversed = new IgnoreMatcher(['[z-a]']);
    expect(() => reversed.matches('x')).toThrow(UserError);
    expect(() => reversed.matches('x')).toThrow(UserError);
  });
});

describe('IgnoreMatcher.canSkipDir', () => {
  it('skips an excluded directory when no exception can reach into it', () => {
    const m = new IgnoreMatcher(['node_modules', 'build', '!build/keep']);
    expect(m.canSkipDir('node_modules')).toBe(true);
    expect(m.canSkipDir('node_modules/x')).toBe(true);
    expect(m.canSkipDir('build')).toBe(false);
    expect(m.canSkipDir('src')).toBe(false); // not excluded at all
  });

  it('does not skip when an exception could match below, conservatively', () => {
    expect(new IgnoreMatcher(['*', '!**/*.go']).canSkipDir('vendor')).toBe(false);
    expect(new IgnoreMatcher(['*', '!src/*.go']).canSkipDir('vendor')).toBe(true);
    expect(new IgnoreMatcher(['*', '!s*/main.go']).canSkipDir('src')).toBe(false);
    expect(new IgnoreMatcher(['*', '!s*/main.go']).canSkipDir('lib')).toBe(true);
  });

  it('never skips the context root', () => {
    expect(new IgnoreMatcher(['**']).canSkipDir('.')).toBe(false);
  });
});
