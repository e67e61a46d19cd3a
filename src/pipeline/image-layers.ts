import type { ImageLayerInput } from '../image/image-builder.js';
import type { DiffId, Digest } from '../image/types.js';
import { isBaseLayer } from '../snapshot/layer-blobs.js';
import { layerBlobFor, type LayerEncodingDeps, type LayerWant } from '../snapshot/layer-reencode.js';

export type { LayerWant };

/** The layers of the built image in a given encoding, each made at most once per build and encoding. */
export type LayerProvider = (want: LayerWant) => Promise<ImageLayerInput[]>;

/**
 * The image's layers (snapshot ids, bottom first) in the encoding each output asks for; which
 * blob that is, and making it, is the snapshotter's (src/snapshot/layer-reencode.ts).
 */
export function layerProvider(deps: LayerEncodingDeps, ids: string[], epoch: number | undefined): LayerProvider {
  const made = new Map<string, Promise<ImageLayerInput[]>>();
  const one = async (i: number, want: LayerWant): Promise<ImageLayerInput> => {
    const blob = await layerBlobFor(deps, ids[i]!, ids.slice(0, i), want, epoch);
    // the layers layerBlobFor re-dated (a base layer never is), named so as BuildKit's rewrite-timestamp does
    const rewritten = want.rewriteTimestamp && epoch !== undefined && !isBaseLayer(ids[i]!);
    return {
      descriptor: {
        mediaType: blob.mediaType,
        digest: blob.digest as Digest,
        size: blob.size,
        ...(rewritten ? { annotations: { 'buildkit/rewritten-timestamp': String(epoch) } } : {}),
      },
      diffId: blob.diffId as DiffId,
    };
  };
  return (want) => {
    const key = `${want.compression}/${want.level ?? ''}/${want.force ? 'force' : ''}/${want.rewriteTimestamp ? 'rewrite' : ''}`;
    let p = made.get(key);
    if (!p) {
      p = Promise.all(ids.map((_, i) => one(i, want)));
      made.set(key, p);
    }
    return p;
  };
}
