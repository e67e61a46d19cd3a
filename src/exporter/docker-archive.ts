import type { ContentStore } from '../store/content-store.js';
import type { Descriptor, ImageManifest } from '../image/types.js';
import { defaultPlatform, selectManifest } from '../registry/platform.js';
import { collectImageBlobs, type ImageBlobs } from './image-blobs.js';
import { normalizeImageNames } from './image-names.js';
import { blobPath, ociLayoutFilesOf, type ArchiveImage } from './oci-archive.js';
import type { ExportOptions, PendingOutput } from './pending-output.js';
import { prepareArchive, type ArchiveFile } from './tar-output.js';

/** One entry of `manifest.json`, the file `docker load` reads (moby image/tarexport). */
export interface DockerManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/**
 * `--output type=docker`: an archive that is both a `docker load` tarball (manifest.json) and an
 * OCI layout, with one copy of each blob, as Docker 25's `docker save` writes. A multi-platform
 * image is written as Docker 25 saves one: index.json names the index (every platform's blobs are
 * in the archive, which a containerd-store docker loads whole), manifest.json has one entry, the
 * manifest of this machine's platform (else the index's first), which a classic docker loads.
 *
 * docker load decompresses each layer file it is given (gzip, and on newer dockers zstd) and
 * checks the uncompressed digest against the config's rootfs.diff_ids, so the compressed blobs
 * serve both views; the diff_ids are right by construction of the image.
 */
export async function writeDockerArchive(
  store: ContentStore,
  manifest: Descriptor,
  names: string[],
  dest: string,
): Promise<void> {
  await (await prepareDockerArchive(store, manifest, names, dest)).commit();
}

/** writeDockerArchive up to the rename into place (see PendingOutput). */
export async function prepareDockerArchive(
  store: ContentStore,
  manifest: Descriptor,
  names: string[],
  dest: string,
  opts: ExportOptions = {},
): Promise<PendingOutput> {
  return prepareDockerArchiveOf(store, [{ manifest, names }], dest, opts);
}

/** prepareDockerArchive for several images (`tsbuild save A B`): one manifest.json entry each. */
export async function prepareDockerArchiveOf(
  store: ContentStore,
  images: readonly ArchiveImage[],
  dest: string,
  opts: ExportOptions = {},
): Promise<PendingOutput> {
  return prepareArchive(store, await dockerArchiveFiles(store, images), dest, 'docker', opts);
}

/** The files of a docker archive of `images`: the OCI layout's and manifest.json. */
export async function dockerArchiveFiles(store: ContentStore, images: readonly ArchiveImage[]): Promise<ArchiveFile[]> {
  const entries: DockerManifestEntry[] = [];
  for (const { manifest, names } of images) {
    const { manifests } = await collectImageBlobs(store, manifest);
    const image = manifests.length === 1 ? manifests[0]!.manifest : dockerView(manifests);
    entries.push({
      Config: blobPath(image.config.digest),
      RepoTags: normalizeImageNames(names).map((n) => n.familiar),
      Layers: image.layers.map((l) => blobPath(l.digest)),
    });
  }
  const files = await ociLayoutFilesOf(store, images);
  files.push({ name: 'manifest.json', data: Buffer.from(JSON.stringify(entries)) });
  return files;
}

/**
 * The platform manifest a multi-platform image shows a classic `docker load`: containerd's
 * archive exporter, as Docker 25 calls it, lists one manifest in manifest.json, the host
 * platform's by preference.
 */
function dockerView(manifests: ImageBlobs['manifests']): ImageManifest {
  const descriptors = manifests.map((m) => m.descriptor);
  const chosen = selectManifest(descriptors, defaultPlatform()) ?? descriptors[0]!;
  return manifests.find((m) => m.descriptor === chosen)!.manifest;
}
