import { describe, expect, it } from 'vitest';
import { formatSize, parseSize } from './size.js';

describe('sizes', () => {
  it('parses what people write', () => {
    expect(parseSize('1024')).toBe(1024);
    expect(parseSize('500MB')).toBe(500 * 1024 ** 2);
    expect(parseSize('10GB')).toBe(10 * 1024 ** 3);
    expect(parseSize('1.5g')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('12 kb')).toBe(12 * 1024);
    expect(parseSize('lots')).toBeUndefined();
    expect(parseSize('-1GB')).toBeUndefined();
  });
  it('formats', () => {
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(1536)).toBe('1.50 kB');
    expect(formatSize(200 * 1024 ** 2)).toBe('200 MB');
  });
});
