import { describe, expect, it } from 'vitest';
import { parseCacheConfig, type CacheConfig } from './cache-manifest.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const key = 'ab'.repeat(32);
const good: CacheConfig = {
  version: 1,
  records: [
    {
      key,
      layers: ['l0123456789abcdef012', 's0123456789abcdef012'],
      createdAt: '2026-01-01T00:00:00Z',
      description: 'RUN x',
      inputTops: ['l0123456789abcdef012'],
    },
  ],
  layers: {
    s0123456789abcdef012: {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: digest('1'),
      size: 10,
      diffId: digest('2'),
    },
  },
};
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('parseCacheConfig', () => {
  it('reads what the exporter writes', () => {
    expect(parseCacheConfig(bytes(good))).toEqual(good);
  });

  it('refuses snapshot ids that are not plain names: they become directories in the state dir', () => {
    for (const id of ['../x', 'a/b', '', 'S1', '.hidden']) {
      expect(() => parseCacheConfig(bytes({ ...good, layers: { [id]: good.layers.s0123456789abcdef012 } }))).toThrow(
        /malformed snapshot id/,
      );
      expect(() => parseCacheConfig(bytes({ ...good, records: [{ ...good.records[0], layers: [id] }] }))).toThrow(
        /malformed layers/,
      );
    }
  });

  it('refuses other versions, bad digests, bad keys and non-JSON', () => {
    expect(() => parseCacheConfig(bytes({ ...good, version: 2 }))).toThrow(/version 2/);
    expect(() =>
      parseCacheConfig(bytes({ ...good, layers: { sabc: { ...good.layers.s0123456789abcdef012, digest: 'md5:x' } } })),
    ).toThrow(/malformed layer entry/);
    expect(() => parseCacheConfig(bytes({ ...good, records: [{ ...good.records[0], key: 'nope' }] }))).toThrow(
      /valid key/,
    );
    expect(() => parseCacheConfig(Buffer.from('{'))).toThrow(/not valid JSON/);
    expect(() => parseCacheConfig(bytes([]))).toThrow(/not a JSON object/);
  });
});
