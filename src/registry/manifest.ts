import { UserError } from '../errors.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../image/types.js';
import { MediaType, isIndexMediaType, isManifestMediaType } from '../image/types.js';

/**
 * Parsing of manifests and indexes fetched from outside (a registry, a layout on disk). Everything
 * here is untrusted: a digest in it later becomes a file name in the content store, so each
 * descriptor is checked before anything uses it.
 */

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; index: ImageIndex }
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest };

/** Media types a manifest request accepts, most preferred first. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.dockerManifestList,
  MediaType.ociManifest,
  MediaType.dockerManifest,
] as const;

/** Docker schema 1 media types; containerd takes `text/plain` for one too (resolver.go). */
const SCHEMA1_TYPES = [
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'text/plain',
];

const SCHEMA1_HINT = 'push the image again with a current docker or buildx to convert it to schema 2';

/**
 * `mediaType` is what the transport says the document is: the registry's Content-Type (for a
 * manifest asked for by tag or digest) or the mediaType of the descriptor that named it (an
 * index's entry, a layout's index.json). As in containerd and BuildKit, that decides, and only
 * the four OCI and Docker schema 2 manifest and index types are accepted: `application/json`,
 * a missing type or any other is refused, whatever the document says of itself (containerd's
 * images.Manifest: "unexpected media type"; BuildKit: "encountered unknown type"). The document
 * must not contradict it (containerd's validateMediaType: a manifest type on a document with
 * `manifests`, or an index type on one with `config` or `layers`).
 *
 * `mediaType` undefined is for bytes already in our content store by digest, checked when they
 * came in: recognised by their `mediaType` field or their shape, as BuildKit's
 * DetectManifestMediaType does for a digest it already holds.
 */
export function parseManifest(
  bytes: Uint8Array,
  mediaType: string | undefined,
  what: string,
  typeFrom = 'its descriptor',
): ParsedManifest {
  const declaredType = mediaType === undefined ? undefined : mediaType.split(';')[0]!.trim();
  if (declaredType !== undefined && SCHEMA1_TYPES.includes(declaredType)) throw schema1(what);
  if (declaredType !== undefined && !isIndexMediaType(declaredType) && !isManifestMediaType(declaredType)) {
    throw new UserError(
      `${what}: ${typeFrom} gives ${declaredType ? `media type ${JSON.stringify(declaredType)}` : 'no media type'}, which is not a manifest or index type`,
      {
        hint: `only OCI and Docker schema 2 manifests and indexes are accepted, and a registry must say which in Content-Type (${MANIFEST_ACCEPT.join(', ')}), as containerd and BuildKit require`,
      },
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new UserError(`${what}: the manifest is not valid JSON`);
  }
  if (!isObject(doc)) throw new UserError(`${what}: the manifest is not a JSON object`);
  if (doc.schemaVersion === 1 || Array.isArray(doc.fsLayers)) throw schema1(what);
  if (doc.schemaVersion !== 2)
    throw new UserError(`${what}: unsupported manifest schemaVersion ${JSON.stringify(doc.schemaVersion)}`);

  const own = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const looksLikeIndex = doc.manifests !== undefined || isIndexMediaType(own);
  const looksLikeManifest = doc.config !== undefined || doc.layers !== undefined || isManifestMediaType(own);
  if (isManifestMediaType(declaredType) && looksLikeIndex)
    throw new UserError(`${what}: sent as ${declaredType}, but the document is an index`);
  if (isIndexMediaType(declaredType) && looksLikeManifest)
    throw new UserError(`${what}: sent as ${declaredType}, but the document is a manifest`);
  const type = declaredType ?? own ?? (Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest);

  if (isIndexMediaType(type)) {
    if (!Array.isArray(doc.manifests)) throw new UserError(`${what}: the index has no manifests list`);
    doc.manifests.forEach((d, i) => {
      checkDescriptor(d, `${what}: manifests[${i}]`);
    });
    return { kind: 'index', mediaType: type, index: doc as unknown as ImageIndex };
  }
  if (isManifestMediaType(type)) {
    checkDescriptor(doc.config, `${what}: config`);
    if (!Array.isArray(doc.layers)) throw new UserError(`${what}: the manifest has no layers list`);
    doc.layers.forEach((d, i) => {
      checkDescriptor(d, `${what}: layers[${i}]`);
    });
    return { kind: 'manifest', mediaType: type, manifest: doc as unknown as ImageManifest };
  }
  throw new UserError(`${what}: unsupported manifest media type ${type}`, {
    hint: 'only OCI and Docker schema 2 images (and their indexes) can be used as base images',
  });
}

function schema1(what: string): UserError {
  return new UserError(`${what}: uses the Docker schema 1 manifest format, which is no longer supported`, {
    hint: SCHEMA1_HINT,
  });
}

function checkDescriptor(d: unknown, what: string): asserts d is Descriptor {
  if (!isObject(d)) throw new UserError(`${what}: not a descriptor`);
  if (typeof d.mediaType !== 'string') throw new UserError(`${what}: descriptor without mediaType`);
  if (typeof d.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(d.digest)) {
    throw new UserError(
      `${what}: unsupported or malformed digest ${JSON.stringify(d.digest)} (only sha256 is supported)`,
    );
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0)
    throw new UserError(`${what}: invalid size ${JSON.stringify(d.size)}`);
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
  if (!isObject(rootfs) || !Array.isArray(rootfs.diff_ids))
    throw new UserError(`${what}: the image config has no rootfs.diff_ids`);
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
    throw new UserError(
      `${what}: the manifest has ${manifest.layers.length} layers but the config lists ${config.rootfs.diff_ids.length} diff_ids`,
    );
  }
}
