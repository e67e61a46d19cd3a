import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MediaType } from '../image/types.js';
import { encodedBlobsOf, type LayerEncoding } from './layer-encodings.js';
import { SnapshotStore } from './snapshot-store.js';

let tmp: string;
let snapshots: SnapshotStore;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-encodings-'));
  snapshots = new SnapshotStore(join(tmp, 'snapshots'));
  for (const id of ['s1', 'lbase']) await mkdir(snapshots.fsDir(id), { recursive: true });
});
afterEach(() => rm(tmp, { recursive: true, force: true }));

const d = (c: string) => `sha256:${c.repeat(64)}`;
const enc = (digest: string, more: Partial<LayerEncoding> = {}): LayerEncoding => ({
  digest,
  size: 10,
  mediaType: MediaType.ociLayerGzip,
  diffId: d('0'),
  compression: 'gzip',
  ...more,
});

describe('LayerEncodings', () => {
  it('a record that cannot be written fails the add that asked, and nothing else (no unhandled rejection)', async () => {
    // no such snapshot dir: the write fails as a full disk would
    await expect(snapshots.encodings.add('gone', [enc(d('1'))], d('0'))).rejects.toThrow(/ENOENT/);
    // the next add of the same snapshot is not held up by the failed one
    await mkdir(snapshots.fsDir('gone'), { recursive: true });
    await expect(snapshots.encodings.add('gone', [enc(d('2'))], d('0'))).resolves.toMatchObject({ diffId: d('0') });
  });

  it('records each encoding with compression, level and epoch, and lists its blobs', async () => {
    expect(snapshots.encodings.of('s1')).toBeUndefined();
    await snapshots.encodings.add('s1', [enc(d('1'))], d('0'));
    await snapshots.encodings.add('s1', [enc(d('2'), { level: 9 })]);
    await snapshots.encodings.add('s1', [enc(d('3'), { epoch: 1700000000, diffId: d('4') })]);
    // an encoding recorded again (made again after its blob was lost) replaces the old entry
    await snapshots.encodings.add('s1', [enc(d('1'), { size: 11 })]);
    expect(snapshots.encodings.of('s1')).toEqual({
      diffId: d('0'),
      encodings: [
        enc(d('2'), { level: 9 }),
        enc(d('3'), { epoch: 1700000000, diffId: d('4') }),
        enc(d('1'), { size: 11 }),
      ],
    });
    expect(encodedBlobsOf(snapshots, 's1')).toEqual([d('2'), d('3'), d('1')]);
    expect(encodedBlobsOf(snapshots, 'lbase')).toEqual([]);
  });

  it('adds made at once in one process all land (writes of one snapshot are queued)', async () => {
    await Promise.all(['1', '2', '3', '4', '5'].map((c) => snapshots.encodings.add('s1', [enc(d(c))], d('0'))));
    expect(encodedBlobsOf(snapshots, 's1').sort()).toEqual(['1', '2', '3', '4', '5'].map(d));
  });

  it("reads the previous version's layer.json: base layers as received, variants as default-level", async () => {
    const legacy = {
      digest: d('1'),
      diffId: d('0'),
      size: 5,
      mediaType: MediaType.dockerLayerGzip,
      variants: [{ digest: d('2'), size: 6, mediaType: MediaType.ociLayerZstd }],
    };
    await writeFile(join(snapshots.dir('lbase'), 'layer.json'), JSON.stringify(legacy));
    await writeFile(join(snapshots.dir('s1'), 'layer.json'), JSON.stringify(legacy));
    const variant = { digest: d('2'), size: 6, mediaType: MediaType.ociLayerZstd, diffId: d('0'), compression: 'zstd' };
    expect(snapshots.encodings.of('lbase')).toEqual({
      diffId: d('0'),
      encodings: [
        {
          digest: d('1'),
          size: 5,
          mediaType: MediaType.dockerLayerGzip,
          diffId: d('0'),
          compression: 'gzip',
          received: true,
        },
        variant,
      ],
    });
    expect(snapshots.encodings.of('s1')?.encodings[0]).toEqual({
      digest: d('1'),
      size: 5,
      mediaType: MediaType.dockerLayerGzip,
      diffId: d('0'),
      compression: 'gzip',
    });
    expect(encodedBlobsOf(snapshots, 'lbase')).toEqual([d('1'), d('2')]);
    // the next write keeps what layer.json said and replaces it
    await snapshots.encodings.add('lbase', [enc(d('3'), { level: 1 })]);
    expect(encodedBlobsOf(snapshots, 'lbase')).toEqual([d('1'), d('2'), d('3')]);
    expect((await readdir(snapshots.dir('lbase'))).sort()).toEqual(['encodings.json', 'fs']);
  });

  it('a corrupt record reads as none', async () => {
    await writeFile(join(snapshots.dir('s1'), 'encodings.json'), '{');
    expect(snapshots.encodings.of('s1')).toBeUndefined();
    await writeFile(join(snapshots.dir('s1'), 'layer.json'), '{');
    expect(snapshots.encodings.of('s1')).toBeUndefined();
  });

  it('prune drops encodings whose blob left the store (never a received one) and the old blob-variants dir', async () => {
    await snapshots.encodings.add('s1', [enc(d('1')), enc(d('2'), { level: 3 })], d('0'));
    await snapshots.encodings.add('lbase', [enc(d('5'), { received: true }), enc(d('6'))], d('0'));
    const legacyDir = join(tmp, 'blob-variants');
    await mkdir(legacyDir);
    await writeFile(join(legacyDir, 'x-gzip-9.json'), '{}');
    await writeFile(join(legacyDir, 'snapshot-s1-epoch-1-gzip-default.json'), '{}');
    const inStore = new Set([d('1')]);
    expect(await snapshots.encodings.prune(async (digest) => inStore.has(digest), legacyDir)).toBe(2 + 2);
    expect(encodedBlobsOf(snapshots, 's1')).toEqual([d('1')]);
    expect(encodedBlobsOf(snapshots, 'lbase')).toEqual([d('5')]);
    expect(await readdir(tmp)).not.toContain('blob-variants');
    // nothing more to drop
    expect(await snapshots.encodings.prune(async (digest) => inStore.has(digest), legacyDir)).toBe(0);
    expect(JSON.parse(await readFile(join(snapshots.dir('s1'), 'encodings.json'), 'utf8'))).toMatchObject({
      diffId: d('0'),
    });
  });
});
