import { describe, expect, it } from 'vitest';
import { compareUtf8 } from './utf8-order.js';

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

describe('compareUtf8', () => {
  it('orders a surrogate pair (U+1F600) after U+FFFD and U+E000, as their UTF-8 bytes do', () => {
    const names = ['a\u{1F600}', 'a\uFFFD', 'a\uE000', 'a\uD7FF', 'a', 'ab', 'a/b', 'é'];
    const sorted = [...names].sort(compareUtf8);
    expect(sorted).toEqual([...names].sort(byBytes));
    expect(sorted.indexOf('a\u{1F600}')).toBeGreaterThan(sorted.indexOf('a\uFFFD'));
  });

  it('agrees with Buffer.compare on every pair of a mixed set, prefixes included', () => {
    const units = ['', 'a', 'z', '/', '.', '\u00e9', '\u0800', '\uD7FF', '\uE000', '\uFFFF', '\u{10000}', '\u{10FFFF}'];
    const names: string[] = [];
    for (const x of units) for (const y of units) names.push(x + y);
    for (const a of names)
      for (const b of names) expect(Math.sign(compareUtf8(a, b)), `${a} vs ${b}`).toBe(Math.sign(byBytes(a, b)));
  });
});
