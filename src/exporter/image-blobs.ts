import { UserError } from '../errors.js';
import type { ContentStore } from '../store/content-store.js';
import type { Descriptor, ImageIndex, ImageManifest } from '../image/types.js';
import { isIndexMediaType } from '../image/types.js';

export interface ImageBlobs {
  /** Every blob the image needs, each once: manifests, configs, layers. */
  blobs: Descriptor[];
  /** The single-platform manifests (one, unless `root` is an index). */
  manifests: { descriptor: Descriptor; manifest: ImageManifest }[];
}

/**
 * Walks an image (a manifest, or an index of manifests) in the store and lists what an archive
 * must contain. Fails before anything is written if a blob is missing, so an exporter never
 * produces an archive that names content it does not hold.
 */
export async function collectImageBlobs(
  store: ContentStore,
  root: Descriptor,
  opts: { layersMayBeAbsent?: boolean } = {},
): Promise<ImageBlobs> {
  const blobs = new Map<string, Descriptor>();
  const manifests: ImageBlobs['manifests'] = [];
  const add = (d: Descriptor) => {
    if (!blobs.has(d.digest)) blobs.set(d.digest, { mediaType: d.mediaType, digest: d.digest, size: d.size });
  };
  const visit = async (d: Descriptor, depth: number): Promise<void> => {
    if (depth > 4) throw new Error(`image ${root.digest}: indexes nested too deep`);
    await requireBlob(store, d, root);
    add(d);
    if (isIndexMediaType(d.mediaType)) {
      const index = await store.readJson<ImageIndex>(d.digest);
      for (const child of index.manifests) await visit(child, depth + 1);
      return;
    }
    const manifest = await store.readJson<ImageManifest>(d.digest);
    manifests.push({ descriptor: d, manifest });
    const own = [manifest.config, ...manifest.layers];
    // Checked together: each is a stat, and a no-op rebuild waits on all of them.
    const checked = opts.layersMayBeAbsent ? [manifest.config] : own;
    await Promise.all(checked.map((b) => requireBlob(store, b, root)));
    for (const b of own) add(b);
  };
  await visit(root, 0);
  return { blobs: [...blobs.values()], manifests };
}

async function requireBlob(store: ContentStore, d: Descriptor, root: Descriptor): Promise<void> {
  if (!(await store.has(d.digest))) {
    // A build fetches every blob its outputs need; an image named by a push may have left layers
    // the registry already had there (docs/cache.md, "Layers fetched when needed").
    throw new UserError(
      `cannot export image ${root.digest}: blob ${d.digest} (${d.mediaType}) is not in the content store`,
      { hint: 'an image named by a push keeps the layers the registry had there: tsbuild pull NAME fetches them' },
    );
  }
  const size = await store.size(d.digest);
  if (size !== d.size)
    throw new Error(
      `cannot export image ${root.digest}: blob ${d.digest} is ${size} bytes in the store, ${d.size} in its descriptor`,
    );
}
