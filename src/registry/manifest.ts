import { UserError } from '../errors.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../image/types.js';
import { MediaType, isIndexMediaType, isManifestMediaType } from '../image/types.js';

/**
 * Parsing of manifests and indexes fetched from outside (a registry, a layout on disk). Everything
 * here is untrusted: a digest in it later becomes a file name in the content store, so each
 * descriptor is checked before anything uses it.
 */

export type ParsedManifest = { kind: 'index'; mediaType: string; index: ImageIndex } | { kind: 'manifest'; mediaType: string; manifest: ImageManifest };

/** Media types a manifest request accepts, most preferred first. */
export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest] as const;

/**
 * `contentType` is what the transport said (HTTP Content-Type, a descriptor's mediaType); the
 * document's own `mediaType` field wins, and a document with neither is recognised by shape.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined, what: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new UserError(`${what}: the manifest is not valid JSON`);
  }
  if (!isObject(doc)) throw new UserError(`${what}: the manifest is not a JSON object`);
  if (doc.schemaVersion === 1) {
    throw new UserError(`${what}: uses the Docker schema 1 manifest format, which is no longer supported`, {
      hint: 'push the image again with a current docker or buildx to convert it to schema 2',
    });
  }
  if (doc.schemaVersion !== 2) throw new UserError(`${what}: unsupported manifest schemaVersion ${JSON.stringify(doc.schemaVersion)}`);

  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const transport = contentType?.split(';')[0]!.trim();
  let mediaType = declared ?? (isIndexMediaType(transport) || isManifestMediaType(transport) ? transport : undefined);
  mediaType ??= Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest;

  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw new UserError(`${what}: the index has no manifests list`);
    doc.manifests.forEach((d, i) => checkDescriptor(d, `${what}: manifests[${i}]`));
    return { kind: 'index', mediaType, index: doc as unknown as ImageIndex };
  }
  if (isManifestMediaType(mediaType)) {
    checkDescriptor(doc.config, `${what}: config`);
    if (!Array.isArray(doc.layers)) throw new UserError(`${what}: the manifest has no layers list`);
    doc.layers.forEach((d, i) => checkDescriptor(d, `${what}: layers[${i}]`));
    return { kind: 'manifest', mediaType, manifest: doc as unknown as ImageManifest };
  }
  throw new UserError(`${what}: unsupported manifest media type ${mediaType}`, {
    hint: 'only OCI and Docker schema 2 images (and their indexes) can be used as base images',
  });
}

function checkDescriptor(d: unknown, what: string): asserts d is Descriptor {
  if (!isObject(d)) throw new UserError(`${what}: not a descriptor`);
  if (typeof d.mediaType !== 'string') throw new UserError(`${what}: descriptor without mediaType`);
  if (typeof d.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(d.digest)) {
    throw new UserError(`${what}: unsupported or malformed digest ${JSON.stringify(d.digest)} (only sha256 is supported)`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw new UserError(`${what}: invalid size ${JSON.stringify(d.size)}`);
}

/** Parses an image config blob, checking the fields a build relies on. */
export function parseConfig(bytes: Uint8Array, what: string): ImageConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new UserError(`${what}: the image config is not valid JSON`);
  }
  if (!isObject(doc)) throw new UserError(`${what}: the image config is not a JSON object`);
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || !Array.isArray(rootfs.diff_ids)) throw new UserError(`${what}: the image config has no rootfs.diff_ids`);
  // Images built by some tools omit `config` when it is empty; later stages expect an object.
  if (!isObject(doc.config)) doc.config = {};
  return doc as unknown as ImageConfig;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A manifest and its config must agree on the layer count, or layer N would get the wrong diff_id. */
export function checkLayersMatchConfig(manifest: ImageManifest, config: ImageConfig, what: string): void {
  if (manifest.layers.length !== config.rootfs.diff_ids.length) {
    throw new UserError(`${what}: the manifest has ${manifest.layers.length} layers but the config lists ${config.rootfs.diff_ids.length} diff_ids`);
  }
}
