import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContentStore } from '../store/content-store.js';
import { MediaType } from '../image/types.js';
import { ensureLayerBlob } from './layer-blobs.js';
import { SnapshotStore } from './snapshot-store.js';

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

    const rec = JSON.parse(await readFile(join(snapshots.dir('s1'), 'layer.json'), 'utf8')) as {
      digest: string;
      variants: { digest: string }[];
    };
    expect(rec.digest).toBe(plain.digest);
    expect(rec.variants.map((v) => v.digest)).toEqual([gz.digest]);
    // asked again, both come from the record
    expect(await ensureLayerBlob(snapshots, store, 's1', [], 'gzip')).toEqual(gz);
    expect(await ensureLayerBlob(snapshots, store, 's1', [], 'any')).toEqual(plain);
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
});
