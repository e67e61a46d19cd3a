import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { ContentStore } from '../store/content-store.js';
import { decompressStream } from '../image/decompress.js';
import type { IdMapping } from './id-mapping.js';
import { receivedOrMade, recordPendingEncodings } from './layer-encodings.js';
import type { SnapshotStore } from './snapshot-store.js';
import { unpackLayer } from './unpack.js';

/** A layer blob in the content store and the diffID its image (or cache) says it has. */
export interface LayerBlobSource {
  digest: string;
  size: number;
  mediaType: string;
  diffId: string;
}

export interface SnapshotFromBlobOptions {
  /** Image owners to host owners for what is unpacked (identity when absent). */
  idMapping?: IdMapping;
  /**
   * Check the unpacked tar against `diffId` (one more hash pass). An imported cache is checked:
   * its records name the diffID the image config will claim. A pulled base layer is not, as before:
   * its blob digest was verified on the way in.
   */
  verifyDiffId?: boolean;
  /** Who claims the diffID, for the error when the layer is not it. */
  claimedBy?: string;
}

/**
 * Makes snapshot `id` from a layer blob already in the content store (a pulled base layer, an
 * imported cache's layer): decompress, unpack in overlay format, and record the blob as the
 * layer's encoding as received, committed together with the snapshot so it is never without it.
 */
export async function snapshotFromBlob(
  snapshots: SnapshotStore,
  store: ContentStore,
  id: string,
  blob: LayerBlobSource,
  opts: SnapshotFromBlobOptions = {},
): Promise<void> {
  await snapshots.create(id, async (pending) => {
    const plain = decompressStream(store.openRead(blob.digest));
    const unpackOpts = opts.idMapping ? { idMapping: opts.idMapping } : {};
    if (opts.verifyDiffId) {
      const hash = createHash('sha256');
      const tap = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      plain.on('error', (err) => tap.destroy(err));
      await unpackLayer(plain.pipe(tap), pending.fs, unpackOpts);
      const diffId = `sha256:${hash.digest('hex')}`;
      if (diffId !== blob.diffId)
        throw new Error(
          `layer ${id} (blob ${blob.digest}) unpacks to diffID ${diffId}, ${opts.claimedBy ?? 'its image'} says ${blob.diffId}`,
        );
    } else {
      await unpackLayer(plain, pending.fs, unpackOpts);
    }
    await recordPendingEncodings(pending.root, {
      diffId: blob.diffId,
      encodings: [receivedOrMade(blob, blob.diffId, true)],
    });
  });
}
