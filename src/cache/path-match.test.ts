import { describe, expect, it } from 'vitest';
import { BadPatternError, hasWildcard, pathMatch } from './path-match.js';

describe('hasWildcard', () => {
  it('sees *, ? and [ but not escaped ones', () => {
    expect(hasWildcard('a/b.txt')).toBe(false);
    expect(hasWildcard('*.txt')).toBe(true);
    expect(hasWildcard('a?c')).toBe(true);
    expect(hasWildcard('[ab]')).toBe(true);
    expect(hasWildcard('a\\*b')).toBe(false);
    expect(hasWildcard('a\\[b')).toBe(false);
    expect(hasWildcard('a\\\\*b')).toBe(true); // an escaped backslash, then a real star
  });
});

describe('pathMatch (Go filepath.Match)', () => {
  it('matches literals exactly, regex metacharacters included', () => {
    expect(pathMatch('a.txt', 'a.txt')).toBe(true);
    expect(pathMatch('a.txt', 'abtxt')).toBe(false);
    expect(pathMatch('a+b(c)', 'a+b(c)')).toBe(true);
    expect(pathMatch('a$', 'a$')).toBe(true);
    expect(pathMatch('abc', 'abcd')).toBe(false);
    expect(pathMatch('bcd', 'abcd')).toBe(false);
  });

  it('`*` matches any run of non-separator characters, including none', () => {
    expect(pathMatch('*.txt', 'a.txt')).toBe(true);
    expect(pathMatch('*.txt', '.txt')).toBe(true);
    expect(pathMatch('*', '')).toBe(true);
    expect(pathMatch('a*', 'a')).toBe(true);
    expect(pathMatch('a*b*c', 'axxbyyc')).toBe(true);
    expect(pathMatch('*.txt', 'dir/a.txt')).toBe(false);
    expect(pathMatch('a*', 'a/b')).toBe(false);
    expect(pathMatch('a/*', 'a/b')).toBe(true);
    expect(pathMatch('a/*', 'a/b/c')).toBe(false);
    expect(pathMatch('*/*', 'x/y')).toBe(true);
  });

  it('`?` matches exactly one non-separator character', () => {
    expect(pathMatch('a?c', 'abc')).toBe(true);
    expect(pathMatch('a?c', 'ac')).toBe(false);
    expect(pathMatch('a?c', 'abbc')).toBe(false);
    expect(pathMatch('a?c', 'a/c')).toBe(false);
    expect(pathMatch('??', 'ab')).toBe(true);
  });

  it('character classes with ranges', () => {
    expect(pathMatch('[abc].txt', 'b.txt')).toBe(true);
    expect(pathMatch('[abc].txt', 'd.txt')).toBe(false);
    expect(pathMatch('file[0-9]', 'file7')).toBe(true);
    expect(pathMatch('file[0-9]', 'filex')).toBe(false);
    expect(pathMatch('file[0-9]', 'file10')).toBe(false);
    expect(pathMatch('[a-cx-z]', 'y')).toBe(true);
    expect(pathMatch('[a-cx-z]', 'm')).toBe(false);
  });

  it('negated classes with ^ only: Go reads [!abc] as a class holding "!"', () => {
    expect(pathMatch('[^abc]', 'd')).toBe(true);
    expect(pathMatch('[^abc]', 'a')).toBe(false);
    expect(pathMatch('[!abc]', '!')).toBe(true);
    expect(pathMatch('[!abc]', 'b')).toBe(true);
    expect(pathMatch('[!abc]', 'd')).toBe(false);
    expect(pathMatch('x[^0-9]', 'x5')).toBe(false);
    expect(pathMatch('x[^0-9]', 'xq')).toBe(true);
  });

  it('a backslash escapes the next character', () => {
    expect(pathMatch('a\\*b', 'a*b')).toBe(true);
    expect(pathMatch('a\\*b', 'axb')).toBe(false);
    expect(pathMatch('\\?', '?')).toBe(true);
    expect(pathMatch('\\?', 'x')).toBe(false);
    expect(pathMatch('\\[a]', '[a]')).toBe(true);
    expect(pathMatch('\\[a]', 'a')).toBe(false);
    expect(pathMatch('a\\\\b', 'a\\b')).toBe(true);
  });

  it('escapes inside a class', () => {
    expect(pathMatch('[\\-a]', '-')).toBe(true);
    expect(pathMatch('[\\-a]', 'a')).toBe(true);
    expect(pathMatch('[\\-a]', 'b')).toBe(false);
  });

  it('an escaped letter inside a class is that letter, not a regex class escape', () => {
    expect(pathMatch('[\\d]', 'd')).toBe(true);
    expect(pathMatch('[\\d]', '5')).toBe(false);
    expect(pathMatch('[\\s]', 's')).toBe(true);
    expect(pathMatch('[\\s]', ' ')).toBe(false);
  });

  it('an escaped ] inside a class is a member of the class', () => {
    expect(pathMatch('[\\]]', ']')).toBe(true);
    expect(pathMatch('[a\\]b]', ']')).toBe(true);
    expect(pathMatch('[a\\]b]', 'b')).toBe(true);
    expect(pathMatch('[a\\]b]', 'c')).toBe(false);
  });

  it('malformed patterns are syntax errors, as Go reports ErrBadPattern', () => {
    expect(() => pathMatch('[abc', 'a')).toThrow(/syntax error in pattern/);
    expect(() => pathMatch('[]', 'a')).toThrow(BadPatternError);
    expect(() => pathMatch('[a-]', 'a')).toThrow(BadPatternError);
    expect(() => pathMatch('a\\', 'a')).toThrow(BadPatternError);
    // Go checks the rest of the pattern even after a mismatch
    expect(() => pathMatch('x*[', 'a')).toThrow(BadPatternError);
  });

  it('Go cases: stars backtrack within a component, classes mix ranges and escapes', () => {
    expect(pathMatch('a*b?c*x', 'abxbbxdbxebxczzx')).toBe(true);
    expect(pathMatch('a*b?c*x', 'abxbbxdbxebxczzy')).toBe(false);
    expect(pathMatch('a*', 'ab/c')).toBe(false);
    expect(pathMatch('a*/b', 'abc/b')).toBe(true);
    expect(pathMatch('a*b*c*d*e*/f', 'axbxcxdxexxx/f')).toBe(true);
    expect(pathMatch('a*b*c*d*e*/f', 'axbxcxdxexxx/fff')).toBe(false);
    expect(pathMatch('[a-ζ]*', 'α')).toBe(true);
    expect(pathMatch('*[a-ζ]', 'A')).toBe(false);
    expect(pathMatch('[\\-^]', '-')).toBe(true);
    expect(pathMatch('[\\-^]', '^')).toBe(true);
    expect(pathMatch('[\\-^]', '[')).toBe(false);
    expect(pathMatch('*x', 'xxx')).toBe(true);
  });
});
