import type { ContentStore } from '../store/content-store.js';
import { parseDigest } from '../store/content-store.js';
import type { Descriptor, ImageIndex } from '../image/types.js';
import { MediaType } from '../image/types.js';
import { collectImageBlobs } from './image-blobs.js';
import { normalizeImageNames } from './image-names.js';
import type { ExportOptions, PendingOutput } from './pending-output.js';
import { prepareArchive, type ArchiveFile } from './tar-output.js';

export { ANNOTATION_IMAGE_NAME } from './image-names.js';
import { ANNOTATION_IMAGE_NAME } from './image-names.js';
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * `--output type=oci`: the image as a tarred OCI image layout, readable by skopeo
 * (`oci-archive:`), umoci, `docker load` (25+) and `ctr import`.
 */
export async function writeOciArchive(
  store: ContentStore,
  manifest: Descriptor,
  names: string[],
  dest: string,
): Promise<void> {
  await (await prepareOciArchive(store, manifest, names, dest)).commit();
}

/** writeOciArchive up to the rename into place (see PendingOutput). */
export async function prepareOciArchive(
  store: ContentStore,
  manifest: Descriptor,
  names: string[],
  dest: string,
  opts: ExportOptions = {},
): Promise<PendingOutput> {
  return prepareOciArchiveOf(store, [{ manifest, names }], dest, opts);
}

/** prepareOciArchive for several images (`tsbuild save --format oci A B`). */
export async function prepareOciArchiveOf(
  store: ContentStore,
  images: readonly ArchiveImage[],
  dest: string,
  opts: ExportOptions = {},
): Promise<PendingOutput> {
  return prepareArchive(store, await ociLayoutFilesOf(store, images), dest, 'OCI', opts);
}

/**
 * The files of an OCI layout holding one image: `oci-layout`, `index.json`, `blobs/sha256/…`.
 * index.json has one entry per name, annotated as buildx's exporter does (containerd's full name,
 * OCI's tag-only ref name), or one plain entry when the image has no name.
 */
export function ociLayoutFiles(store: ContentStore, manifest: Descriptor, names: string[]): Promise<ArchiveFile[]> {
  return ociLayoutFilesOf(store, [{ manifest, names }]);
}

/** An image of a multi-image archive (`tsbuild save A B`) and the names it goes under. */
export interface ArchiveImage {
  manifest: Descriptor;
  names: string[];
}

/** ociLayoutFiles for several images: their index entries in order, each blob once. */
export async function ociLayoutFilesOf(store: ContentStore, images: readonly ArchiveImage[]): Promise<ArchiveFile[]> {
  const blobs = new Map<string, Descriptor>();
  const entries: Descriptor[] = [];
  for (const { manifest, names } of images) {
    for (const b of (await collectImageBlobs(store, manifest)).blobs) if (!blobs.has(b.digest)) blobs.set(b.digest, b);
    const target: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
    if (manifest.platform) target.platform = manifest.platform;
    // the build's manifest-descriptor annotations (--annotation), beside the names
    if (manifest.annotations) target.annotations = { ...manifest.annotations };
    const normalized = normalizeImageNames(names);
    entries.push(
      ...(normalized.length
        ? normalized.map((n) => ({
            ...target,
            annotations: { ...target.annotations, [ANNOTATION_IMAGE_NAME]: n.full, [ANNOTATION_REF_NAME]: n.tag },
          }))
        : [target]),
    );
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: entries };
  return [
    { name: 'oci-layout', data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    { name: 'index.json', data: Buffer.from(JSON.stringify(index)) },
    ...[...blobs.values()].map((b) => ({ name: blobPath(b.digest), blob: b })),
  ];
}

export function blobPath(digest: string): string {
  return `blobs/sha256/${parseDigest(digest).hex}`;
}
