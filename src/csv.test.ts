import { describe, expect, it } from 'vitest';
import { splitCsv } from './csv.js';

describe('splitCsv', () => {
  it('splits on commas outside quotes, "" is a quote', () => {
    expect(splitCsv('a=1,"b=2,3",c')).toEqual(['a=1', 'b=2,3', 'c']);
    expect(splitCsv('"x=""q"""')).toEqual(['x="q"']);
    expect(() => splitCsv('"open')).toThrow();
  });
});
