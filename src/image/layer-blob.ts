import { createHash } from 'node:crypto';
import { PassThrough, Transform, pipeline, type Readable } from 'node:stream';
import { constants as zlibConstants, createGzip } from 'node:zlib';
import { MediaType, type DiffId, type Digest } from './types.js';

/** Where the compressed bytes go; ContentStore.ingest fits (it hashes and commits them). */
export interface BlobSink {
  ingest(source: Readable): Promise<{ digest: Digest | string; size: number }>;
}

export interface LayerBlob {
  /** sha256 of the compressed blob (the manifest's layer digest). */
  digest: Digest;
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffId: DiffId;
  /** Compressed size. */
  size: number;
  mediaType: typeof MediaType.ociLayerGzip;
}

/**
 * Makes a gzip layer blob in one pass: tar bytes → sha256 (diffID) → gzip → sink.
 * Node's gzip header carries no file name and mtime 0, so equal tars give equal blobs.
 */
export async function createLayerBlob(
  writeTar: (out: NodeJS.WritableStream) => Promise<void>,
  sink: BlobSink,
  opts: { level?: number } = {},
): Promise<LayerBlob> {
  const tar = new PassThrough({ highWaterMark: 1 << 20 });
  const hash = createHash('sha256');
  const diff = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const gzip = createGzip({ level: opts.level ?? zlibConstants.Z_DEFAULT_COMPRESSION });
  // Any failure anywhere tears the whole chain down so neither side waits forever; pipeline
  // also does so when the sink stops reading early (premature close).
  const fail = (err: Error) => {
    for (const s of [tar, diff, gzip]) s.destroy(err);
  };
  const chain = new Promise<void>((resolve, reject) => {
    pipeline(tar, diff, gzip, (err) => {
      if (!err) return resolve();
      fail(err);
      reject(err);
    });
  });

  const producing = (async () => {
    try {
      await writeTar(tar);
      if (!tar.writableEnded) tar.end();
    } catch (err) {
      fail(err as Error);
      throw err;
    }
  })();
  const consuming = sink.ingest(gzip).catch((err: unknown) => {
    fail(err as Error);
    throw err;
  });
  // `chain` rejecting settles this at once, even if a writer never notices its output died.
  const [, stored] = await Promise.all([producing, consuming, chain]);
  return {
    digest: stored.digest as Digest,
    diffId: `sha256:${hash.digest('hex')}` as DiffId,
    size: stored.size,
    mediaType: MediaType.ociLayerGzip,
  };
}
