import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLayerBlob } from '../image/layer-blob.js';
import { MediaType } from '../image/types.js';
import { ContentStore } from '../store/content-store.js';
import { ensureLayerBlob } from './layer-blobs.js';
import { layerBlobFor, type LayerEncodingDeps } from './layer-reencode.js';
import { writeLayerTar } from './layer-tar.js';
import { snapshotFromBlob } from './snapshot-from-blob.js';
import { SnapshotStore } from './snapshot-store.js';

const EPOCH = 1_700_000_000;
let tmp: string;
let deps: LayerEncodingDeps;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-reencode-'));
  const store = new ContentStore(join(tmp, 'content'));
  await store.init();
  deps = { store, snapshots: new SnapshotStore(join(tmp, 'snapshots')) };
  const fs = deps.snapshots.fsDir('s1');
  await mkdir(join(fs, 'app'), { recursive: true });
  await writeFile(join(fs, 'app', 'hello.txt'), 'hello\n'.repeat(1000));
  // made "now": later than the epoch, so the epoch encoding re-dates it
  const now = new Date();
  await utimes(join(fs, 'app', 'hello.txt'), now, now);
  await utimes(join(fs, 'app'), now, now);
});
afterEach(() => rm(tmp, { recursive: true, force: true }));

const levels = () => deps.snapshots.encodings.of('s1')?.encodings.map((e) => [e.compression, e.level, e.epoch]);
const blobIno = async (digest: string) => (await stat(deps.store.blobPath(digest))).ino;

async function mtimesOf(tar: Buffer): Promise<number[]> {
  const out: number[] = [];
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, s, next) => {
      out.push(Math.floor((h.mtime?.getTime() ?? 0) / 1000));
      s.resume();
      next();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(tar);
  await done;
  return out;
}

describe('layerBlobFor', () => {
  it('re-encodes at an explicit level once, from the committed blob, and keeps it apart from the default', async () => {
    const gz9 = await layerBlobFor(deps, 's1', [], { compression: 'gzip', level: 9 }, undefined);
    const plain = await ensureLayerBlob(deps.snapshots, deps.store, 's1', [], 'any');
    expect(gz9.diffId).toBe(plain.diffId);
    expect(gunzipSync(await deps.store.read(gz9.digest)).equals(await deps.store.read(plain.digest))).toBe(true);
    expect(levels()).toEqual([
      ['uncompressed', undefined, undefined],
      ['gzip', 9, undefined],
    ]);
    // asked again: the same blob, not made again
    const ino = await blobIno(gz9.digest);
    expect(await layerBlobFor(deps, 's1', [], { compression: 'gzip', level: 9 }, undefined)).toEqual(gz9);
    expect(await blobIno(gz9.digest)).toBe(ino);
    // an output without a level never gets the level-9 blob
    const gz = await layerBlobFor(deps, 's1', [], { compression: 'gzip' }, undefined);
    expect(gz.digest).not.toBe(gz9.digest);
    expect(levels()).toHaveLength(3);
    // force-compression at the default level is the default-level blob already made (same bytes)
    expect(await layerBlobFor(deps, 's1', [], { compression: 'gzip', force: true }, undefined)).toEqual(gz);
    expect(levels()).toHaveLength(3);
  });

  it('with SOURCE_DATE_EPOCH, tars the layer again with mtimes clamped, per compression and level', async () => {
    const committed = await ensureLayerBlob(deps.snapshots, deps.store, 's1', [], 'any');
    const any = await layerBlobFor(deps, 's1', [], { compression: 'any' }, EPOCH);
    expect(any.mediaType).toBe(MediaType.ociLayerTar);
    expect(any.diffId).not.toBe(committed.diffId);
    expect(await mtimesOf(await deps.store.read(any.digest))).toEqual([EPOCH, EPOCH]);
    const gz = await layerBlobFor(deps, 's1', [], { compression: 'gzip' }, EPOCH);
    expect(gz.diffId).toBe(any.diffId);
    expect(gunzipSync(await deps.store.read(gz.digest)).equals(await deps.store.read(any.digest))).toBe(true);
    const gz1 = await layerBlobFor(deps, 's1', [], { compression: 'gzip', level: 1, force: true }, EPOCH);
    expect(gz1.digest).not.toBe(gz.digest);
    expect(levels()).toEqual([
      ['uncompressed', undefined, undefined],
      ['uncompressed', undefined, EPOCH],
      ['gzip', undefined, EPOCH],
      ['gzip', 1, EPOCH],
    ]);
    // another epoch is another encoding; the same one is found again
    const ino = await blobIno(gz.digest);
    expect(await layerBlobFor(deps, 's1', [], { compression: 'gzip' }, EPOCH)).toEqual(gz);
    expect(await blobIno(gz.digest)).toBe(ino);
    expect((await layerBlobFor(deps, 's1', [], { compression: 'gzip' }, EPOCH + 1)).digest).not.toBe(gz.digest);
    // lost from the store: made again, same bytes
    await deps.store.removeBlob(gz.digest);
    expect(await layerBlobFor(deps, 's1', [], { compression: 'gzip' }, EPOCH)).toEqual(gz);
  });

  it('a pulled layer keeps its blob (never re-dated) unless compression is forced', async () => {
    const tar = new PassThrough();
    const chunks: Buffer[] = [];
    tar.on('data', (c: Buffer) => chunks.push(c));
    await writeLayerTar(deps.snapshots.fsDir('s1'), tar);
    const pulled = await createLayerBlob(
      async (out) => {
        out.end(Buffer.concat(chunks));
      },
      deps.store,
      { compression: 'gzip', level: 1 },
    );
    await snapshotFromBlob(deps.snapshots, deps.store, 'lbase', pulled);
    for (const want of [{ compression: 'gzip' as const }, { compression: 'zstd' as const, level: 5 }])
      expect(await layerBlobFor(deps, 'lbase', [], want, EPOCH)).toMatchObject({
        digest: pulled.digest,
        diffId: pulled.diffId,
      });
    const forced = await layerBlobFor(deps, 'lbase', [], { compression: 'gzip', force: true }, EPOCH);
    expect(forced.digest).not.toBe(pulled.digest);
    expect(forced.diffId).toBe(pulled.diffId);
    expect(deps.snapshots.encodings.of('lbase')?.encodings).toMatchObject([
      { digest: pulled.digest, received: true, compression: 'gzip' },
      { digest: forced.digest, compression: 'gzip' },
    ]);
  });

  it('refuses a source blob that is not the layer its record says', async () => {
    const plain = await ensureLayerBlob(deps.snapshots, deps.store, 's1', [], 'any');
    const wrong = `sha256:${'9'.repeat(64)}`;
    await mkdir(deps.snapshots.fsDir('s2'), { recursive: true });
    await deps.snapshots.encodings.add('s2', [{ ...plain, diffId: wrong, compression: 'uncompressed' }], wrong);
    await expect(layerBlobFor(deps, 's2', [], { compression: 'gzip', level: 2 }, undefined)).rejects.toThrow(
      /not its diffID .*the content store is damaged/,
    );
    expect(deps.snapshots.encodings.of('s2')?.encodings).toHaveLength(1);
  });

  it('a cancelled build makes and records nothing', async () => {
    const abort = new AbortController();
    abort.abort(new Error('cancelled by test'));
    const cancelled = { ...deps, signal: abort.signal };
    await expect(layerBlobFor(cancelled, 's1', [], { compression: 'gzip' }, EPOCH)).rejects.toThrow(
      'cancelled by test',
    );
    await expect(ensureLayerBlob(deps.snapshots, deps.store, 's1', [], 'gzip', abort.signal)).rejects.toThrow(
      'cancelled by test',
    );
    expect(deps.snapshots.encodings.of('s1')).toBeUndefined();
    expect(await deps.store.listBlobs()).toEqual([]);
  });
});

describe('layerBlobFor with a layer not in the state dir yet', () => {
  const remoteBlob = {
    digest: `sha256:${'a'.repeat(64)}`,
    size: 10,
    mediaType: MediaType.ociLayerGzip,
    diffId: `sha256:${'b'.repeat(64)}`,
  };

  it('gives its blob as it came when the output takes it so, without making the snapshot', async () => {
    let made = 0;
    const remote = { blob: remoteBlob, materialize: async () => void made++ };
    const withRemote = { ...deps, remote: (id: string) => (id === 'sR' || id === 'lbase' ? remote : undefined) };
    expect(await layerBlobFor(withRemote, 'sR', [], { compression: 'gzip' }, undefined)).toEqual(remoteBlob);
    expect(await layerBlobFor(withRemote, 'sR', [], { compression: 'any' }, undefined)).toEqual(remoteBlob);
    // a base layer keeps its blob whatever compression is asked for, as when it is unpacked
    expect(await layerBlobFor(withRemote, 'lbase', [], { compression: 'zstd' }, undefined)).toEqual(remoteBlob);
    expect(made).toBe(0);
  });

  it('makes the snapshot first when the output wants another encoding of a step layer', async () => {
    const made: string[] = [];
    // "making" sR here: the snapshot s1 of beforeEach stands for it
    const remote = { blob: remoteBlob, materialize: async () => void made.push('sR') };
    const withRemote = { ...deps, remote: (id: string) => (id === 's1' && !made.length ? remote : undefined) };
    const zstd = await layerBlobFor(withRemote, 's1', [], { compression: 'zstd' }, undefined);
    expect(made).toEqual(['sR']);
    expect(zstd.mediaType).toBe(MediaType.ociLayerZstd);
  });
});
