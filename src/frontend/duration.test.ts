import { describe, expect, it } from 'vitest';
import { parseGoDuration } from './duration.js';

describe('parseGoDuration', () => {
  it('reads Go duration syntax into nanoseconds', () => {
    const cases: [string, number][] = [
      ['0', 0],
      ['0s', 0],
      ['30s', 30e9],
      ['1m30s', 90e9],
      ['500ms', 5e8],
      ['1.5h', 5400e9],
      ['2h45m', 9900e9],
      ['10us', 10_000],
      ['10µs', 10_000],
      ['7ns', 7],
      ['-1s', -1e9],
      ['+.5s', 5e8],
    ];
    for (const [text, ns] of cases) expect(parseGoDuration(text), text).toBe(ns);
  });

  it("fails with Go's messages", () => {
    expect(() => parseGoDuration('')).toThrow('time: invalid duration ""');
    expect(() => parseGoDuration('5')).toThrow('time: missing unit in duration "5"');
    expect(() => parseGoDuration('5d')).toThrow('time: unknown unit "d" in duration "5d"');
    expect(() => parseGoDuration('.s')).toThrow('time: invalid duration ".s"');
    expect(() => parseGoDuration('9999999999h')).toThrow('time: invalid duration');
  });
});
