import { lstat, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tarStream from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLayerBlob, type LayerBlob } from '../image/layer-blob.js';
import { ContentStore } from '../store/content-store.js';
import { idMappingFromRanges } from './id-mapping.js';
import { snapshotFromBlob } from './snapshot-from-blob.js';
import { SnapshotStore } from './snapshot-store.js';

let tmp: string;
let store: ContentStore;
let snapshots: SnapshotStore;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-from-blob-'));
  store = new ContentStore(join(tmp, 'content'));
  snapshots = new SnapshotStore(join(tmp, 'snapshots'));
  await store.init();
  await snapshots.init();
});
afterEach(() => rm(tmp, { recursive: true, force: true }));

/** A gzip layer blob in the store holding `app/hello.txt` (uid 1000), its parent not in the tar. */
async function layer(): Promise<LayerBlob> {
  const pack = tarStream.pack();
  pack.entry({ name: 'app/hello.txt', uid: 1000, gid: 1000 }, 'hello\n');
  pack.finalize();
  return createLayerBlob(
    async (out) => {
      for await (const c of pack) out.write(c as Buffer);
      out.end();
    },
    store,
    { compression: 'gzip' },
  );
}

describe('snapshotFromBlob', () => {
  it('unpacks the blob and commits the snapshot with the blob as its received encoding', async () => {
    const blob = await layer();
    await snapshotFromBlob(snapshots, store, 'lbase', blob);
    expect(await readFile(join(snapshots.fsDir('lbase'), 'app/hello.txt'), 'utf8')).toBe('hello\n');
    expect(snapshots.encodings.of('lbase')).toEqual({
      diffId: blob.diffId,
      encodings: [{ ...blob, compression: 'gzip', received: true }],
    });
  });

  it('checks the diffID when asked: a mismatch leaves no snapshot', async () => {
    const blob = await layer();
    const claimed = `sha256:${'7'.repeat(64)}`;
    await expect(
      snapshotFromBlob(
        snapshots,
        store,
        's1',
        { ...blob, diffId: claimed },
        { verifyDiffId: true, claimedBy: 'the cache' },
      ),
    ).rejects.toThrow(`layer s1 (blob ${blob.digest}) unpacks to diffID ${blob.diffId}, the cache says ${claimed}`);
    expect(await readdir(snapshots.root)).toEqual([]);
    await snapshotFromBlob(snapshots, store, 's1', blob, { verifyDiffId: true });
    expect(await snapshots.exists('s1')).toBe(true);
  });

  it('unpacks through the id mapping, implicit directories included', async () => {
    const idMapping = idMappingFromRanges(
      [{ containerID: 0, hostID: 100_000, size: 65_536 }],
      [{ containerID: 0, hostID: 200_000, size: 65_536 }],
    );
    await snapshotFromBlob(snapshots, store, 'lbase', await layer(), { idMapping });
    const owner = async (rel: string) => {
      const st = await lstat(join(snapshots.fsDir('lbase'), rel));
      return [st.uid, st.gid];
    };
    expect(await owner('app')).toEqual([100_000, 200_000]);
    expect(await owner('app/hello.txt')).toEqual([101_000, 201_000]);
  });
});
