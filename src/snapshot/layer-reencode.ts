import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import type { ContentStore } from '../store/content-store.js';
import { compressionOfMediaType, type LayerCompression } from '../image/layer-compression.js';
import type { IdMapping } from './id-mapping.js';
import {
  abortableWrite,
  ensureLayerBlob,
  isBaseLayer,
  refOf,
  type BlobWant,
  type LayerBlobRef,
} from './layer-blobs.js';
import type { LayerEncoding } from './layer-encodings.js';
import type { SnapshotStore } from './snapshot-store.js';

/** How an output wants its layers: buildx's compression, compression-level and force-compression. */
export interface LayerWant {
  compression: LayerCompression | 'any';
  level?: number;
  force?: boolean;
  /** `rewrite-timestamp=true`: layers re-dated to SOURCE_DATE_EPOCH carry buildkit/rewritten-timestamp. */
  rewriteTimestamp?: true;
}

export interface LayerEncodingDeps {
  snapshots: SnapshotStore;
  store: ContentStore;
  /** The build's cancellation: stops a layer blob being made. */
  signal?: AbortSignal;
  /** Host owners back to the image's, for tars written from a snapshot (identity when absent). */
  idMapping?: IdMapping;
  /**
   * A layer not in the state dir yet (a base image's or an imported cache's): its blob, and how to
   * make its snapshot. Its blob serves an output that takes it as it is, without unpacking it.
   */
  remote?: (id: string) => RemoteLayerBlob | undefined;
  /** Makes layers present that are still remote (before a snapshot is tarred over them). */
  makePresent?: (ids: string[]) => Promise<void>;
}

/** What layerBlobFor needs of a layer that is not in the state dir yet. */
export interface RemoteLayerBlob {
  blob?: LayerBlobRef;
  materialize(): Promise<void>;
}

/**
 * The blob of snapshot `id` (with `below` the chain under it, bottom first) that an output asking
 * for `want` gets, with SOURCE_DATE_EPOCH `epoch` if the build has one:
 * - a pulled layer keeps the blob it came in, unless compression is forced (as BuildKit);
 * - with an epoch, a layer the build made is tarred again with mtimes clamped to it (another
 *   diffID than the snapshot's), at the level asked for; base layers are never re-dated;
 * - an explicit level or force-compression re-encodes whatever blob the layer has at that level;
 * - otherwise the layer as committed, at the default level (ensureLayerBlob).
 * Every encoding is recorded in the snapshot's layer encodings and made at most once.
 */
export async function layerBlobFor(
  deps: LayerEncodingDeps,
  id: string,
  below: string[],
  want: LayerWant,
  epoch: number | undefined,
): Promise<LayerBlobRef> {
  deps.signal?.throwIfAborted();
  const explicit = want.level !== undefined || want.force === true;
  const remote = deps.remote?.(id);
  if (remote) {
    // the blob as it came is what the output gets (as below, once unpacked): no need to unpack it
    if (remote.blob && takenAsItIs(remote.blob, id, want, epoch)) return remote.blob;
    await remote.materialize();
  } else if (!isBaseLayer(id)) await deps.makePresent?.(below);
  const committed = (w: BlobWant) =>
    ensureLayerBlob(deps.snapshots, deps.store, id, below, w, deps.signal, deps.idMapping);
  if (isBaseLayer(id) && !want.force) return committed('any');
  if (epoch !== undefined && !isBaseLayer(id)) {
    const compression = want.compression === 'any' ? 'uncompressed' : want.compression;
    return exactEncoding(deps, id, { compression, level: explicit ? want.level : undefined, epoch }, () =>
      clampedLayer(deps, id, below, epoch, compression, explicit ? want.level : undefined),
    );
  }
  if (!explicit) return committed(want.compression);
  const source = await committed('any');
  if (want.compression === 'any') return source;
  const compression = want.compression;
  return exactEncoding(deps, id, { compression, level: want.level, epoch: undefined }, () =>
    reencode(deps, source, compression, want.level),
  );
}

/** Whether an output asking for `want` gets a layer's received blob unchanged (see layerBlobFor's rules). */
function takenAsItIs(blob: LayerBlobRef, id: string, want: LayerWant, epoch: number | undefined): boolean {
  if (isBaseLayer(id)) return !want.force;
  if (epoch !== undefined || want.level !== undefined || want.force) return false;
  return want.compression === 'any' || compressionOfMediaType(blob.mediaType) === want.compression;
}

interface EncodingKey {
  compression: LayerCompression;
  level: number | undefined;
  epoch: number | undefined;
}

const inflight = new Map<string, Promise<LayerBlobRef>>();

/**
 * The encoding of `id` made here with exactly these settings: found in the index when its blob
 * is still in the store, else made (once per process at a time) and recorded.
 */
function exactEncoding(
  deps: LayerEncodingDeps,
  id: string,
  key: EncodingKey,
  make: () => Promise<Omit<LayerEncoding, 'compression' | 'level' | 'epoch'>>,
): Promise<LayerBlobRef> {
  const name = `${deps.store.root}\0${id}\0${key.compression}\0${key.level ?? ''}\0${key.epoch ?? ''}`;
  let p = inflight.get(name);
  if (!p) {
    p = (async () => {
      for (const e of deps.snapshots.encodings.of(id)?.encodings ?? []) {
        if (e.received || e.compression !== key.compression || e.level !== key.level || e.epoch !== key.epoch) continue;
        if (await deps.store.has(e.digest)) return refOf(e);
      }
      const made: LayerEncoding = {
        ...(await make()),
        compression: key.compression,
        ...(key.level !== undefined ? { level: key.level } : {}),
        ...(key.epoch !== undefined ? { epoch: key.epoch } : {}),
      };
      await deps.snapshots.encodings.add(id, [made]);
      return refOf(made);
    })().finally(() => inflight.delete(name));
    inflight.set(name, p);
  }
  return p;
}

/**
 * A layer re-encoded at an explicit level (`compression-level=N` or `force-compression=true`)
 * from an existing blob of it, checked against its diffID on the way.
 */
async function reencode(
  deps: LayerEncodingDeps,
  source: LayerBlobRef,
  compression: LayerCompression,
  level: number | undefined,
): Promise<Omit<LayerEncoding, 'compression'>> {
  // Loaded only when an output asks for a re-encoding: it brings the compressors (zlib) along.
  const [{ decompressStream }, { createLayerBlob }] = await Promise.all([
    import('../image/decompress.js'),
    import('../image/layer-blob.js'),
  ]);
  const blob = await createLayerBlob(
    abortableWrite(deps.signal, async (out) => {
      await pipe(verifyDiffId(decompressStream(deps.store.openRead(source.digest)), source.diffId, source.digest), out);
    }),
    deps.store,
    { compression, ...(level !== undefined ? { level } : {}) },
  );
  return { digest: blob.digest, size: blob.size, mediaType: blob.mediaType, diffId: source.diffId };
}

/** A build layer tarred with mtimes clamped to `epoch`, in one compression. */
async function clampedLayer(
  deps: LayerEncodingDeps,
  id: string,
  below: string[],
  epoch: number,
  compression: LayerCompression,
  level: number | undefined,
): Promise<Omit<LayerEncoding, 'compression'>> {
  const [{ writeLayerTar }, { createLayerBlob }] = await Promise.all([
    import('./layer-tar.js'),
    import('../image/layer-blob.js'),
  ]);
  const lowerDirs = deps.snapshots.lowerDirs(below);
  const writeTar = abortableWrite(deps.signal, (out, reusable) =>
    writeLayerTar(deps.snapshots.fsDir(id), out, {
      lowerDirs,
      clampMtime: epoch,
      reuseWritten: reusable === true,
      ...(deps.idMapping ? { idMapping: deps.idMapping } : {}),
    }),
  );
  const blob = await createLayerBlob(writeTar, deps.store, {
    compression,
    ...(level !== undefined ? { level } : {}),
  });
  return { digest: blob.digest, size: blob.size, mediaType: blob.mediaType, diffId: blob.diffId };
}

/** Passes the tar through, failing at the end if it is not the layer the manifest says it is. */
function verifyDiffId(tar: Readable, diffId: string, blob: string): Readable {
  const hash = createHash('sha256');
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const actual = `sha256:${hash.digest('hex')}`;
      cb(
        actual === diffId
          ? null
          : new Error(
              `layer blob ${blob} unpacks to ${actual}, not its diffID ${diffId}: the content store is damaged`,
            ),
      );
    },
  });
  tar.on('error', (err) => check.destroy(err));
  return tar.pipe(check);
}

function pipe(from: Readable, to: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    from.on('error', reject);
    to.on('error', reject);
    from.on('end', () => {
      to.end();
      resolve();
    });
    from.pipe(to as NodeJS.WritableStream, { end: false });
  });
}
