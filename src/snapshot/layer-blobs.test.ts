import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContentStore } from '../store/content-store.js';
import { MediaType } from '../image/types.js';
import { ensureLayerBlob } from './layer-blobs.js';
import { duSync, SnapshotStore } from './snapshot-store.js';

let tmp: string;
let store: ContentStore;
let snapshots: SnapshotStore;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-layerblobs-'));
  store = new ContentStore(join(tmp, 'content'));
  snapshots = new SnapshotStore(join(tmp, 'snapshots'));
  await store.init();
  await mkdir(join(snapshots.fsDir('s1'), 'app'), { recursive: true });
  await writeFile(join(snapshots.fsDir('s1'), 'app', 'hello.txt'), 'hello\n'.repeat(1000));
});
afterEach(() => rm(tmp, { recursive: true, force: true }));

describe('ensureLayerBlob', () => {
  it("makes a plain tar for 'any' (its digest is its diffID), then gzip from it, each once", async () => {
    const plain = await ensureLayerBlob(snapshots, store, 's1', [], 'any');
    expect(plain.mediaType).toBe(MediaType.ociLayerTar);
    expect(plain.digest).toBe(plain.diffId);
    const tar = await store.read(plain.digest);
    expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(plain.digest);

    const gz = await ensureLayerBlob(snapshots, store, 's1', [], 'gzip');
    expect(gz.mediaType).toBe(MediaType.ociLayerGzip);
    expect(gz.diffId).toBe(plain.diffId);
    expect(gunzipSync(await store.read(gz.digest)).equals(tar)).toBe(true);

    const rec = JSON.parse(await readFile(join(snapshots.dir('s1'), 'encodings.json'), 'utf8')) as {
      diffId: string;
      encodings: { digest: string; compression: string; level?: number; epoch?: number }[];
    };
    expect(rec.diffId).toBe(plain.diffId);
    expect(rec.encodings).toMatchObject([
      { digest: plain.digest, compression: 'uncompressed' },
      { digest: gz.digest, compression: 'gzip' },
    ]);
    expect(rec.encodings.every((e) => e.level === undefined && e.epoch === undefined)).toBe(true);
    // asked again, both come from the record
    expect(await ensureLayerBlob(snapshots, store, 's1', [], 'gzip')).toEqual(gz);
    expect(await ensureLayerBlob(snapshots, store, 's1', [], 'any')).toEqual(plain);
  });

  it('keeps the disk usage of a snapshot it tarred, as a later measure would find it', async () => {
    await ensureLayerBlob(snapshots, store, 's1', [], 'any');
    const kept = Number(await readFile(join(snapshots.dir('s1'), 'size'), 'utf8'));
    await rm(join(snapshots.dir('s1'), 'size'));
    expect(kept).toBe(duSync(snapshots.dir('s1')));
    expect(await snapshots.diskUsage('s1')).toBe(kept);
  });

  it('shares one making between concurrent callers', async () => {
    const [a, b] = await Promise.all([
      ensureLayerBlob(snapshots, store, 's1', [], 'any'),
      ensureLayerBlob(snapshots, store, 's1', [], 'any'),
    ]);
    expect(a).toEqual(b);
  });

  it('makes the blob again when the store lost it', async () => {
    const plain = await ensureLayerBlob(snapshots, store, 's1', [], 'any');
    await store.removeBlob(plain.digest);
    expect(await ensureLayerBlob(snapshots, store, 's1', [], 'any')).toEqual(plain);
    expect(await store.has(plain.digest)).toBe(true);
  });

  it("reads the previous version's layer.json: a pulled base layer keeps its blob", async () => {
    const tar = await ensureLayerBlob(snapshots, store, 's1', [], 'any');
    await mkdir(snapshots.fsDir('lbase'), { recursive: true });
    await writeFile(
      join(snapshots.dir('lbase'), 'layer.json'),
      JSON.stringify({ digest: tar.digest, diffId: tar.diffId, size: tar.size, mediaType: MediaType.ociLayerTar }),
    );
    // the base snapshot's fs is empty: the blob can only come from the record
    expect(await ensureLayerBlob(snapshots, store, 'lbase', [], 'any')).toEqual(tar);
    const gz = await ensureLayerBlob(snapshots, store, 'lbase', [], 'gzip');
    expect(gz.diffId).toBe(tar.diffId);
    expect(gunzipSync(await store.read(gz.digest)).equals(await store.read(tar.digest))).toBe(true);
    // the first write moves the record to the index
    expect((await readdir(snapshots.dir('lbase'))).sort()).toEqual(['encodings.json', 'fs']);
  });

  it('a base layer whose pulled blob is gone is an error naming it', async () => {
    await mkdir(snapshots.fsDir('lgone'), { recursive: true });
    const digest = `sha256:${'3'.repeat(64)}`;
    await writeFile(
      join(snapshots.dir('lgone'), 'layer.json'),
      JSON.stringify({ digest, diffId: digest, size: 1, mediaType: MediaType.ociLayerGzip }),
    );
    await expect(ensureLayerBlob(snapshots, store, 'lgone', [], 'gzip')).rejects.toThrow(
      `base layer lgone: its blob ${digest} is not in the content store`,
    );
  });
});
