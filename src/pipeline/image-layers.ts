import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-write.js';
import type { ContentStore } from '../store/content-store.js';
import type { LayerConverter } from '../exporter/layer-convert.js';
import type { LayerCompression } from '../image/compress.js';
import type { ImageLayerInput } from '../image/image-builder.js';
import type { Descriptor, DiffId, Digest } from '../image/types.js';
import { abortableWrite, ensureLayerBlob, isBaseLayer, type BlobWant } from '../snapshot/layer-blobs.js';
import type { SnapshotStore } from '../snapshot/snapshot-store.js';

/** How an output wants its layers: buildx's compression, compression-level and force-compression. */
export interface LayerWant {
  compression: LayerCompression | 'any';
  level?: number;
  force?: boolean;
}

/** The layers of the built image in a given encoding, each made at most once per build and encoding. */
export type LayerProvider = (want: LayerWant) => Promise<ImageLayerInput[]>;

export interface LayerProviderDeps {
  snapshots: SnapshotStore;
  store: ContentStore;
  /** Where re-encoded and SOURCE_DATE_EPOCH layer records live. */
  variantsDir: string;
  /** The build's cancellation: stops a layer blob being made. */
  signal?: AbortSignal;
}

/**
 * Layers come from the snapshot layer records (src/snapshot/layer-blobs.ts: one blob per
 * compression per snapshot). Two cases are handled here instead:
 * - an explicit level or force-compression: the layer is re-encoded from whatever blob it has
 *   (LayerConverter, recorded per diffID, compression and level);
 * - SOURCE_DATE_EPOCH: layers the build made are tarred again with mtimes clamped to it, which
 *   gives them another diffID than the snapshot's record holds, so they are recorded per
 *   snapshot and epoch here. Base layers are never rewritten.
 */
export function layerProvider(deps: LayerProviderDeps, ids: string[], epoch: number | undefined): LayerProvider {
  // Loaded only when an output asks for a re-encoding: it brings the compressors (zlib) along.
  let converter: Promise<LayerConverter> | undefined;
  const convert = (): Promise<LayerConverter> =>
    (converter ??= import('../exporter/layer-convert.js').then(
      ({ LayerConverter }) => new LayerConverter(deps.store, deps.variantsDir),
    ));
  const made = new Map<string, Promise<ImageLayerInput[]>>();
  const one = async (i: number, want: LayerWant): Promise<ImageLayerInput> => {
    deps.signal?.throwIfAborted();
    const id = ids[i]!;
    const below = ids.slice(0, i);
    const explicit = want.level !== undefined || want.force === true;
    if (isBaseLayer(id) && !want.force) {
      // As BuildKit without force-compression: a pulled layer keeps the blob it came in.
      const rec = await ensureLayerBlob(deps.snapshots, deps.store, id, below, 'any', deps.signal);
      return {
        descriptor: { mediaType: rec.mediaType, digest: rec.digest as Digest, size: rec.size },
        diffId: rec.diffId as DiffId,
      };
    }
    if (epoch !== undefined && !isBaseLayer(id)) {
      const compression = want.compression === 'any' ? 'uncompressed' : want.compression;
      return clampedLayer(deps, id, below, epoch, compression, explicit ? want.level : undefined);
    }
    const baseWant: BlobWant = explicit ? 'any' : want.compression;
    const rec = await ensureLayerBlob(deps.snapshots, deps.store, id, below, baseWant, deps.signal);
    const input: ImageLayerInput = {
      descriptor: { mediaType: rec.mediaType, digest: rec.digest as Digest, size: rec.size },
      diffId: rec.diffId as DiffId,
    };
    if (!explicit || want.compression === 'any') return input;
    return {
      descriptor: await (await convert()).convert(
        input.descriptor,
        input.diffId,
        want.compression,
        want.level,
        deps.signal,
      ),
      diffId: input.diffId,
    };
  };
  return (want) => {
    const key = `${want.compression}/${want.level ?? ''}/${want.force ? 'force' : ''}`;
    let p = made.get(key);
    if (!p) {
      p = Promise.all(ids.map((_, i) => one(i, want)));
      made.set(key, p);
    }
    return p;
  };
}

/** A build layer tarred with mtimes clamped to `epoch`, in one compression, made once and recorded. */
async function clampedLayer(
  deps: LayerProviderDeps,
  id: string,
  below: string[],
  epoch: number,
  compression: LayerCompression,
  level: number | undefined,
): Promise<ImageLayerInput> {
  const record = join(deps.variantsDir, `snapshot-${id}-epoch-${epoch}-${compression}-${level ?? 'default'}.json`);
  try {
    const known = JSON.parse(await readFile(record, 'utf8')) as { descriptor: Descriptor; diffId: DiffId };
    if (await deps.store.has(known.descriptor.digest)) return known;
  } catch {
    // not made yet
  }
  const [{ writeLayerTar }, { createLayerBlob }] = await Promise.all([
    import('../snapshot/layer-tar.js'),
    import('../image/layer-blob.js'),
  ]);
  const lowerDirs = deps.snapshots.lowerDirs(below);
  const writeTar = abortableWrite(deps.signal, (out) =>
    writeLayerTar(deps.snapshots.fsDir(id), out, { lowerDirs, clampMtime: epoch }),
  );
  const blob = await createLayerBlob(writeTar, deps.store, {
    compression,
    ...(level !== undefined ? { level } : {}),
  });
  const input: ImageLayerInput = {
    descriptor: { mediaType: blob.mediaType, digest: blob.digest, size: blob.size },
    diffId: blob.diffId,
  };
  await mkdir(deps.variantsDir, { recursive: true });
  await writeFileAtomic(record, JSON.stringify(input));
  return input;
}
