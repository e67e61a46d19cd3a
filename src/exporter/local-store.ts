import type { ContentStore } from '../store/content-store.js';
import type { Descriptor } from '../image/types.js';
import { collectImageBlobs } from './image-blobs.js';
import { ANNOTATION_IMAGE_NAME, normalizeImageNames } from './image-names.js';

/** The digest a stored name's registry has the image under (docker's RepoDigests): see ImageStore.recordRepoDigest. */
export const ANNOTATION_REPO_DIGEST = 'dev.tsbuild.repo-digest';

/**
 * Names a built image in the state directory's content store (its index.json), under each name
 * as the familiar name (`app:1.0`, with the full `docker.io/library/app:1.0` beside it), so later builds and `skopeo … oci:CONTENT:NAME` find
 * it. Index updates are read-modify-write: the caller holds the state lock.
 *
 * `blobsChecked`: the caller made this image in the same build and saw every blob in the store
 * (the build's lease keeps prune out until it ends), so they are not looked up a second time.
 */
export async function storeImage(
  store: ContentStore,
  manifest: Descriptor,
  names: string[],
  opts: { blobsChecked?: boolean } = {},
): Promise<void> {
  const normalized = normalizeImageNames(names);
  // check first, so a name never points at an image whose blobs are not all there
  if (!opts.blobsChecked) await collectImageBlobs(store, manifest);
  const target: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
  if (manifest.platform) target.platform = manifest.platform;
  // A name that stays on the same image keeps what its registry said of it (its repo digest).
  const kept = new Map<string, string>();
  for (const d of (await store.readIndex()).manifests) {
    const repoDigest = d.annotations?.[ANNOTATION_REPO_DIGEST];
    const full = d.annotations?.[ANNOTATION_IMAGE_NAME];
    if (repoDigest && full && d.digest === target.digest) kept.set(full, repoDigest);
  }
  for (const n of normalized) {
    const repoDigest = kept.get(n.full);
    // ref.name is the familiar name, so `skopeo … oci:CONTENT:app:1.0` finds what `-t app:1.0` stored.
    await store.tag(n.familiar, {
      ...target,
      annotations: { [ANNOTATION_IMAGE_NAME]: n.full, ...(repoDigest ? { [ANNOTATION_REPO_DIGEST]: repoDigest } : {}) },
    });
  }
}
