import { createHash } from 'node:crypto';
import { PassThrough, Transform, pipeline, type Readable, type Writable } from 'node:stream';
import { compressStream, layerMediaType, type LayerCompression } from './compress.js';
import type { DiffId, Digest } from './types.js';

/** Where the compressed bytes go; ContentStore.ingest fits (it hashes and commits them). */
export interface BlobSink {
  ingest(
    source: Readable,
    expected?: undefined,
    what?: string,
    opts?: { durable?: boolean },
  ): Promise<{ digest: Digest | string; size: number }>;
  /** As ContentStore.ingestWritten: write callbacks come once a chunk is stored. Takes a plain tar when there. */
  ingestWritten?(
    produce: (out: Writable) => Promise<void>,
    what?: string,
    opts?: { durable?: boolean },
  ): Promise<{ digest: Digest | string; size: number }>;
}

/**
 * Writes a layer's tar to `out`. `reusable`: `out` is done with each chunk once that write is
 * called back, so the writer may fill the chunk again.
 */
export type TarWriter = (out: NodeJS.WritableStream, reusable?: boolean) => Promise<void>;

export interface LayerBlob {
  /** sha256 of the blob as stored (the manifest's layer digest; the diffID when uncompressed). */
  digest: Digest;
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffId: DiffId;
  /** Stored (compressed) size. */
  size: number;
  mediaType: string;
}

export interface LayerBlobOptions {
  /** Default gzip, as BuildKit's. */
  compression?: LayerCompression;
  /** Default: zlib's 6 for gzip, 3 for zstd. */
  level?: number;
  /** The tar's digest when the caller knows it (re-encoding a stored plain tar): no second hash pass. */
  knownDiffId?: DiffId;
}

/**
 * Makes a layer blob in one pass: tar bytes → sha256 (diffID) → compressor → sink. Every
 * compressor here is reproducible (gzip members carry no name and mtime 0; see parallel-gzip.ts
 * and compress.ts), so equal tars give equal blobs.
 */
export async function createLayerBlob(
  writeTar: TarWriter,
  sink: BlobSink,
  opts: LayerBlobOptions = {},
): Promise<LayerBlob> {
  const compression = opts.compression ?? 'gzip';
  if (compression === 'uncompressed' && sink.ingestWritten) {
    // A plain tar is its own diffID: hashed once (by the sink), written from chunks it hands back.
    const stored = await sink.ingestWritten((out) => writeTar(out, true), 'layer blob', { durable: false });
    return {
      digest: stored.digest as Digest,
      diffId: opts.knownDiffId ?? (stored.digest as DiffId),
      size: stored.size,
      mediaType: layerMediaType(compression),
    };
  }
  const tar = new PassThrough({ highWaterMark: 1 << 20 });
  const hash = createHash('sha256');
  const known = opts.knownDiffId;
  const diff = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (!known) hash.update(chunk);
      cb(null, chunk);
    },
  });
  const compressor = compressStream(compression, opts.level);
  // Any failure anywhere tears the whole chain down so neither side waits forever; pipeline
  // also does so when the sink stops reading early (premature close).
  const fail = (err: Error) => {
    for (const s of [tar, diff, compressor]) s.destroy(err);
  };
  const chain = new Promise<void>((resolve, reject) => {
    pipeline(tar, diff, compressor, (err) => {
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
  // A layer blob is always made from a snapshot or another blob: no fsync (ContentStore's IngestOptions).
  const consuming = sink.ingest(compressor, undefined, 'layer blob', { durable: false }).catch((err: unknown) => {
    fail(err as Error);
    throw err;
  });
  // `chain` rejecting settles this at once, even if a writer never notices its output died.
  const [, stored] = await Promise.all([producing, consuming, chain]);
  return {
    digest: stored.digest as Digest,
    diffId: known ?? (`sha256:${hash.digest('hex')}` as DiffId),
    size: stored.size,
    mediaType: layerMediaType(compression),
  };
}
