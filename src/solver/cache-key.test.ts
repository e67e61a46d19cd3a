import { describe, expect, it } from 'vitest';
import { cacheKeyOf, canonicalJson, type KeyRecord } from './cache-key.js';

describe('canonicalJson', () => {
  it('sorts object keys at every depth, whatever the insertion order', () => {
    const a = { b: 1, a: { y: [1, { d: 2, c: 3 }], x: 'z' } };
    const b = { a: { x: 'z', y: [1, { c: 3, d: 2 }] }, b: 1 };
    expect(canonicalJson(a)).toBe('{"a":{"x":"z","y":[1,{"c":3,"d":2}]},"b":1}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it('keeps array order (it is meaningful)', () => {
    expect(canonicalJson([2, 1])).toBe('[2,1]');
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('drops undefined fields, so an absent and an undefined option hash the same', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
  });

  it('keeps null, and writes undefined array items as null like JSON', () => {
    expect(canonicalJson({ a: null })).toBe('{"a":null}');
    expect(canonicalJson([undefined, 1])).toBe('[null,1]');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('escapes strings and keys as JSON', () => {
    expect(canonicalJson({ 'k"ey': 'a\nb' })).toBe('{"k\\"ey":"a\\nb"}');
    expect(JSON.parse(canonicalJson({ z: 'é', a: ['\u0000'] }))).toEqual({ z: 'é', a: ['\u0000'] });
  });

  it('is plain JSON.stringify for primitives', () => {
    expect(canonicalJson(1.5)).toBe('1.5');
    expect(canonicalJson('s')).toBe('"s"');
    expect(canonicalJson(true)).toBe('true');
    expect(canonicalJson(null)).toBe('null');
  });

  it('distinguishes a string from a number of the same text', () => {
    expect(canonicalJson({ a: '1' })).not.toBe(canonicalJson({ a: 1 }));
  });
});

describe('cacheKeyOf', () => {
  const rec: KeyRecord = {
    op: { type: 'exec', args: ['sh', '-c', 'make'], env: ['A=1'], cwd: '/' },
    inputs: ['k1', 'k2'],
  };

  it('is a 64-hex sha256', () => {
    expect(cacheKeyOf(rec)).toMatch(/^[a-f0-9]{64}$/);
  });

  it('is stable across calls and field order', () => {
    const reordered: KeyRecord = {
      inputs: ['k1', 'k2'],
      op: { cwd: '/', env: ['A=1'], args: ['sh', '-c', 'make'], type: 'exec' },
    };
    expect(cacheKeyOf(rec)).toBe(cacheKeyOf(rec));
    expect(cacheKeyOf(reordered)).toBe(cacheKeyOf(rec));
  });

  it('changes with the op, the inputs, their order, and the content digests', () => {
    const base = cacheKeyOf(rec);
    const variants: KeyRecord[] = [
      { ...rec, op: { ...(rec.op as object), env: ['A=2'] } },
      { ...rec, op: { ...(rec.op as object), cwd: '/src' } },
      { ...rec, inputs: ['k1'] },
      { ...rec, inputs: ['k2', 'k1'] },
      { ...rec, content: ['sha256:aa'] },
    ];
    const keys = variants.map(cacheKeyOf);
    for (const k of keys) expect(k).not.toBe(base);
    expect(new Set(keys).size).toBe(keys.length);
    expect(cacheKeyOf({ ...rec, content: ['sha256:aa'] })).not.toBe(cacheKeyOf({ ...rec, content: ['sha256:bb'] }));
  });

  it('treats content: undefined like no content', () => {
    expect(cacheKeyOf({ ...rec, content: undefined })).toBe(cacheKeyOf(rec));
  });
});
