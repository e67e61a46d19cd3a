import type { ContentStore } from '../store/content-store.js';
import type { Descriptor } from '../image/types.js';
import { UserError } from '../errors.js';
import { collectImageBlobs } from './image-blobs.js';
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
 * OCI layout, with one copy of each blob, as Docker 25's `docker save` writes.
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
    // docker load takes one config per manifest.json entry; a multi-platform index has no single one
    if (manifests.length !== 1) {
      throw new UserError(`the docker exporter cannot write a multi-platform image (${manifests.length} platforms)`, {
        hint: 'build for one --platform, or use --output type=oci',
      });
    }
    const image = manifests[0]!.manifest;
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
