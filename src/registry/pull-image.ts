import type { ContentStore } from '../store/content-store.js';
import type { Descriptor, Digest } from '../image/types.js';
import { UserError } from '../errors.js';
import { BaseImages } from './base-images.js';
import type { BlobSources } from './blob-sources.js';
import type { RegistryClient } from './client.js';
import type { PlatformSpec } from './platform.js';

export interface PulledImage {
  /** What the name points at in the registry (an index for a multi-platform image): docker pull's `Digest:`. */
  digest: Digest;
  /** The single-platform manifest chosen for the platform: what is stored under the name. */
  manifest: Descriptor;
}

export interface PullOptions {
  stateRoot: string;
  platform: PlatformSpec;
  registry: () => Promise<{ client: RegistryClient; sources?: BlobSources }>;
  /** Told of each layer: already in the store, or downloaded now. */
  onLayer?: (layer: Descriptor, outcome: 'exists' | 'downloaded') => void;
  /** Told a layer download's bytes so far (see RegistryClient.fetchBlob). */
  onBytes?: (layer: Descriptor, done: number, total: number) => void;
}

/** Layers downloaded at once, as docker's default max-concurrent-downloads. */
const PARALLEL = 3;

/**
 * `tsbuild pull REF`: the image REF names in its registry, for one platform, with every blob in
 * `store`. It goes the way a build's FROM goes with `--pull` (src/registry/base-images.ts): the
 * tag is asked for afresh and its resolution recorded, so a later build's `FROM REF` uses what
 * was pulled; blobs are verified and where they were seen is kept for cross-repository mounts.
 */
export async function pullImage(store: ContentStore, ref: string, opts: PullOptions): Promise<PulledImage> {
  if (ref.startsWith('oci-layout://'))
    throw new UserError(`cannot pull ${ref}: pull takes a registry reference`, {
      hint: 'tsbuild load -i ARCHIVE reads an OCI archive into the store',
    });
  await store.init();
  const bases = new BaseImages(store, process.cwd(), {
    stateRoot: opts.stateRoot,
    pull: true,
    registry: opts.registry,
  });
  try {
    const { image, origin } = await bases.resolve(ref, opts.platform, async () => {});
    const queue = [...image.manifest.layers];
    const worker = async (): Promise<void> => {
      for (let layer = queue.shift(); layer; layer = queue.shift()) {
        const had = await store.has(layer.digest);
        const onBytes = opts.onBytes;
        if (!had)
          await bases.fetchBlob(origin, layer, onBytes ? (done, total) => onBytes(layer, done, total) : undefined);
        opts.onLayer?.(layer, had ? 'exists' : 'downloaded');
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, queue.length) }, worker));
    return {
      digest: (image.indexDescriptor ?? image.manifestDescriptor).digest,
      manifest: image.manifestDescriptor,
    };
  } finally {
    bases.close();
  }
}
