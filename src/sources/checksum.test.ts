import { describe, expect, it } from 'vitest';
import { parseCommitChecksum, parseDigest } from './checksum.js';

describe('parseDigest', () => {
  it('takes sha256, sha384 and sha512 digests', () => {
    expect(parseDigest(`sha256:${'a'.repeat(64)}`)).toEqual({ algorithm: 'sha256', hex: 'a'.repeat(64) });
    expect(parseDigest(`sha384:${'b'.repeat(96)}`).algorithm).toBe('sha384');
    expect(parseDigest(`sha512:${'c'.repeat(128)}`).algorithm).toBe('sha512');
  });

  it('names what is wrong, as go-digest does', () => {
    expect(() => parseDigest('a'.repeat(64))).toThrow(/invalid checksum digest format/);
    expect(() => parseDigest('md5:7e55db001d319a94b0b713529a756623')).toThrow(/unsupported digest algorithm "md5"/);
    expect(() => parseDigest('unknown:abc')).toThrow(/unsupported digest algorithm/);
    expect(() => parseDigest(`sha256:${'a'.repeat(63)}`)).toThrow(/invalid checksum digest length/);
    expect(() => parseDigest(`sha256:${'A'.repeat(64)}`)).toThrow(/invalid checksum digest length or characters/);
  });
});

describe('parseCommitChecksum', () => {
  it('takes a hex commit or prefix and refuses anything else', () => {
    expect(parseCommitChecksum('abc1234')).toBe('abc1234');
    expect(parseCommitChecksum('a'.repeat(40))).toBe('a'.repeat(40));
    expect(() => parseCommitChecksum('foobar')).toThrow(/expected hex commit hash/);
    expect(() => parseCommitChecksum('ab')).toThrow(/expected hex commit hash/);
  });
});
