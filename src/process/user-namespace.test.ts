import { describe, expect, it } from 'vitest';
import { parseInUserNamespace } from './user-namespace.js';

describe('parseInUserNamespace', () => {
  it("the host's namespace maps every id to itself", () => {
    expect(parseInUserNamespace('         0          0 4294967295\n')).toBe(false);
  });

  it('a namespace that maps the user to root and subordinate ids after it', () => {
    expect(parseInUserNamespace('         0       1001          1\n         1     165536      65536\n')).toBe(true);
  });

  it('a namespace mapping one id', () => {
    expect(parseInUserNamespace('0 1000 1\n')).toBe(true);
  });
});
