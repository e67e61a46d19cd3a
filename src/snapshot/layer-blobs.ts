import { pipeline } from 'node:stream/promises';
import type { ContentStore } from '../store/content-store.js';
import type { LayerCompression } from '../image/layer-compression.js';
import type { TarWriter } from '../image/layer-blob.js';
import { MediaType } from '../image/types.js';
import type { IdMapping } from './id-mapping.js';
import type { LayerEncoding } from './layer-encodings.js';
import { snapshotKind } from './snapshot-id.js';
import type { SnapshotStore } from './snapshot-store.js';

/**
 * Which blob of a layer to have: a given encoding (an archive or a registry asks for one), or
 * `any`, the cheapest that exists — the state directory's own OCI layout takes whatever is there
 * and otherwise the plain tar (hashing and writing a tar costs a fraction of compressing it).
 */
export type BlobWant = LayerCompression | 'any';

export interface LayerBlobRef {
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
}

/** Pulled base layers: their tar is the blob they came in (re-tarring the unpacked dir would change its diffID). */
export function isBaseLayer(id: string): boolean {
  return snapshotKind(id) === 'base';
}

/**
 * The OCI blob of a snapshot in the encoding wanted, at the compressor's default level and as
 * committed (no SOURCE_DATE_EPOCH), made the first time someone needs it and recorded in the
 * snapshot's layer encodings (src/snapshot/layer-encodings.ts) so no encoding is ever made twice.
 * A new encoding is made from a blob already in the store when there is one (the plain tar, or
 * a base layer's pulled blob), else by tarring the snapshot. A step that changed nothing still
 * gets its (empty) layer, as BuildKit's images have. `below` is the chain under it (bottom
 * first): directories that overlay copied up unchanged are left out of the tar by comparing
 * with it. `idMapping` gives the files' owners back as the image has them.
 */
export function ensureLayerBlob(
  snapshots: SnapshotStore,
  store: ContentStore,
  id: string,
  below: string[],
  want: BlobWant = 'gzip',
  signal?: AbortSignal,
  idMapping?: IdMapping,
): Promise<LayerBlobRef> {
  // One making per layer and encoding at a time in this process: outputs asking for the same
  // layer at once share it.
  const key = `${store.root}\0${id}\0${want}`;
  let p = inflight.get(key);
  if (!p) {
    p = makeLayerBlob(snapshots, store, id, below, want, signal, idMapping).finally(() => inflight.delete(key));
    inflight.set(key, p);
  }
  return p;
}

const inflight = new Map<string, Promise<LayerBlobRef>>();

/** The encodings `ensureLayerBlob` may hand out: as committed, at the default level or as received. */
function isCommittedDefault(e: LayerEncoding): boolean {
  return e.epoch === undefined && (e.received === true || e.level === undefined);
}

async function makeLayerBlob(
  snapshots: SnapshotStore,
  store: ContentStore,
  id: string,
  below: string[],
  want: BlobWant,
  signal?: AbortSignal,
  idMapping?: IdMapping,
): Promise<LayerBlobRef> {
  const rec = snapshots.encodings.of(id);
  const present: LayerEncoding[] = [];
  for (const e of rec?.encodings ?? []) if (isCommittedDefault(e) && (await store.has(e.digest))) present.push(e);
  const found = present.find((e) => want === 'any' || e.compression === want);
  if (found) return refOf(found);

  // Making a blob: the tar, decompression and compression code load only now, and only what
  // this blob needs (a cached build loads none; a plain tar of a snapshot, no zlib).
  const plain = present.find((e) => e.compression === 'uncompressed');
  const source = plain ?? (isBaseLayer(id) ? present[0] : undefined);
  if (isBaseLayer(id) && !source) {
    const pulled = rec?.encodings.find((e) => e.received)?.digest;
    throw new Error(`base layer ${id}: its blob ${pulled ?? '(unknown)'} is not in the content store`);
  }
  let fsBytes: number | undefined;
  const writeTar = abortableWrite(
    signal,
    source
      ? async (out: NodeJS.WritableStream) => {
          const { decompressStream } = await import('../image/decompress.js');
          await pipeline(
            decompressStream(store.openRead(source.digest)),
            out as NodeJS.WritableStream & import('node:stream').Writable,
          );
        }
      : async (out: NodeJS.WritableStream, reusable?: boolean) => {
          const { writeLayerTar } = await import('./layer-tar.js');
          await writeLayerTar(snapshots.fsDir(id), out, {
            lowerDirs: snapshots.lowerDirs(below),
            ...(idMapping ? { idMapping } : {}),
            reuseWritten: reusable === true,
            onDiskUsage: (bytes) => {
              fsBytes = bytes;
            },
          });
        },
  );
  const compression: LayerCompression = want === 'any' ? 'uncompressed' : want;
  // A plain tar is its own diffID: one pass, hashed once (by the store), never compressed.
  // Re-encoding the stored plain tar: its digest is the diffID already (it was hashed when stored).
  const knownDiffId = plain ? (plain.diffId as import('../image/types.js').DiffId) : undefined;
  const blob =
    compression === 'uncompressed'
      ? await plainTarBlob(writeTar, store)
      : await (await import('../image/layer-blob.js')).createLayerBlob(writeTar, store, {
          compression,
          ...(knownDiffId ? { knownDiffId } : {}),
        });
  if (rec?.diffId && blob.diffId !== rec.diffId)
    throw new Error(
      `layer ${id}: the new ${blob.mediaType} blob has diffID ${blob.diffId}, the layer record says ${rec.diffId}`,
    );
  const made: LayerEncoding = {
    digest: blob.digest,
    size: blob.size,
    mediaType: blob.mediaType,
    diffId: blob.diffId,
    compression,
  };
  await snapshots.encodings.add(id, [made], blob.diffId);
  // after encodings.add: its file is part of what the snapshot takes
  if (fsBytes !== undefined) await snapshots.keepDiskUsage(id, fsBytes);
  return refOf(made);
}

export function refOf(e: LayerEncoding): LayerBlobRef {
  return { digest: e.digest, diffId: e.diffId, size: e.size, mediaType: e.mediaType };
}

/**
 * `write` made to stop when the build is cancelled: its output stream is destroyed with the
 * signal's reason, which fails the whole blob chain (nothing is committed to the store).
 */
export function abortableWrite(signal: AbortSignal | undefined, write: TarWriter): TarWriter {
  if (!signal) return write;
  return async (out, reusable) => {
    signal.throwIfAborted();
    const onAbort = (): void => {
      (out as NodeJS.WritableStream & { destroy(err?: Error): void }).destroy(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await write(out, reusable);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };
}

async function plainTarBlob(
  writeTar: TarWriter,
  store: ContentStore,
): Promise<{ digest: string; diffId: string; size: number; mediaType: string }> {
  const stored = await store.ingestWritten((out) => writeTar(out, true), 'layer tar', { durable: false });
  return { digest: stored.digest, diffId: stored.digest, size: stored.size, mediaType: MediaType.ociLayerTar };
}
