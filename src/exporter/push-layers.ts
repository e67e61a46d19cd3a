import { pipeline } from 'node:stream/promises';
import { createLayerBlob } from '../image/layer-blob.js';
import { compressionOfMediaType } from '../image/layer-compression.js';
import {
  type Descriptor,
  type DiffId,
  type ImageIndex,
  type ImageManifest,
  isIndexMediaType,
  MediaType,
} from '../image/types.js';
import type { ContentStore } from '../store/content-store.js';

/**
 * The manifest `tsbuild push` sends for a stored image. A build with only `-t` keeps its layers
 * in the store as plain tars (the quickest to make and to run); docker push compresses such
 * layers, and so does this: each uncompressed layer is gzipped as a build's --push makes it (the
 * same compressor and level over the same tar bytes, so the same blob), and a manifest naming
 * those blobs is put in the store beside the stored one, which stays as it is. A manifest whose
 * layers are all compressed already is returned unchanged. A multi-platform index is pushed with
 * each of its manifests so made (a new index only when one of them changed).
 */
export async function manifestForPush(
  store: ContentStore,
  stored: Descriptor,
  signal?: AbortSignal,
): Promise<Descriptor> {
  if (isIndexMediaType(stored.mediaType)) {
    const index = await store.readJson<ImageIndex>(stored.digest);
    const manifests: Descriptor[] = [];
    for (const m of index.manifests) {
      const pushed = await manifestForPush(store, m, signal);
      // the index entry's platform and annotations stay; only what it points at changes
      manifests.push(pushed === m ? m : { ...m, digest: pushed.digest, size: pushed.size });
    }
    if (manifests.every((m, i) => m === index.manifests[i])) return stored;
    const made = await store.put(JSON.stringify({ ...index, manifests }), stored.mediaType);
    return stored.annotations ? { ...made, annotations: stored.annotations } : made;
  }
  const manifest = await store.readJson<ImageManifest>(stored.digest);
  if (!manifest.layers?.some((l) => compressionOfMediaType(l.mediaType) === 'uncompressed')) return stored;
  const docker = (manifest.mediaType ?? stored.mediaType) === MediaType.dockerManifest;
  const layers: Descriptor[] = [];
  for (const layer of manifest.layers) {
    signal?.throwIfAborted();
    if (compressionOfMediaType(layer.mediaType) !== 'uncompressed') {
      layers.push(layer);
      continue;
    }
    const blob = await createLayerBlob(
      (out) => pipeline(store.openRead(layer.digest), out, { ...(signal ? { signal } : {}) }),
      store,
      { compression: 'gzip', knownDiffId: layer.digest as string as DiffId },
    );
    // the stored descriptor's other fields (annotations, urls) and its key order kept
    layers.push({
      ...layer,
      mediaType: docker ? MediaType.dockerLayerGzip : blob.mediaType,
      digest: blob.digest,
      size: blob.size,
    });
  }
  return store.put(JSON.stringify({ ...manifest, layers }), stored.mediaType);
}
