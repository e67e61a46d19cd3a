import { describe, expect, it } from 'vitest';
import { cleanPath, dirPath, isBadGlob } from './go-filepath.js';

describe('go-filepath', () => {
  it('cleanPath collapses like filepath.Clean', () => {
    const cases: [string, string][] = [
      ['', '.'],
      ['a//b/./c/', 'a/b/c'],
      ['a/../..', '..'],
      ['/../a', '/a'],
      ['./', '.'],
      ['/', '/'],
    ];
    for (const [input, want] of cases) expect(cleanPath(input), input).toBe(want);
  });

  it('dirPath is filepath.Dir', () => {
    expect(dirPath('a/b/c')).toBe('a/b');
    expect(dirPath('file')).toBe('.');
    expect(dirPath('file/')).toBe('file');
    expect(dirPath('/')).toBe('/');
  });

  it('isBadGlob applies filepath.Match syntax', () => {
    for (const bad of ['[', '[^', 'a[', '[]a]', '[-]', '[x-]', '[a-b-c]', '\\', '[\\'])
      expect(isBadGlob(bad), bad).toBe(true);
    for (const good of ['*', 'a?c', '[abc]', '[^a-z]', '[\\]a]', '[\\-]', 'a]b', '[l-O]'])
      expect(isBadGlob(good), good).toBe(false);
  });
});
