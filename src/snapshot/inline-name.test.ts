import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { inlineFileName } from './inline-name.js';

describe('inlineFileName', () => {
  it('keeps a plain name and cleans a leading .. or / away, as a join onto a scratch root does', () => {
    expect(inlineFileName('EOF')).toBe('EOF');
    expect(inlineFileName('../x.txt')).toBe('x.txt');
    expect(inlineFileName('/x.txt')).toBe('x.txt');
    expect(inlineFileName('a/../b')).toBe('b');
  });

  it('refuses a name with a directory part, or none left, as BuildKit fails to make it', () => {
    for (const name of ['../../../../tmp/victim.txt', 'sub/x', '..', '/', 'a/..'])
      expect(() => inlineFileName(name)).toThrow(UserError);
  });
});
