import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { UserError } from '../errors.js';
import { resolveInRoot } from '../store/resolve-in-root.js';
import { type ContentStore, DigestMismatchError, parseDigest, sha256Digest } from '../store/content-store.js';
import type { Descriptor, Digest, ImageManifest } from '../image/types.js';
import { MediaType } from '../image/types.js';
import { checkLayersMatchConfig, parseConfig, parseManifest, type ParsedManifest } from './manifest.js';
import { formatPlatform, selectManifest, type PlatformSpec } from './platform.js';
import type { LayoutResolvedImage } from './resolved-image.js';

/**
 * `FROM oci-layout://DIR[:tag]`: a base image from an OCI image layout on disk (what `skopeo copy
 * … oci:DIR:tag`, `umoci`, or buildx `--output type=oci,tar=false` write), for offline builds.
 * Everything the image needs is copied into the content store with its digest verified, because
 * the layout is the user's directory and may change or vanish after the build.
 */

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';
const MAX_INDEX_DEPTH = 4;
const MANIFEST_MAX_BYTES = 8 << 20;

export interface OciLayoutRef {
  dir: string;
  /** A tag (`latest`) or a digest (`sha256:…`); undefined picks `latest`, or the only image. */
  tag?: string;
}

/** Splits `oci-layout://DIR[:tag|@sha256:…]`; a `:` followed by a path separator belongs to DIR. */
export function parseOciLayoutRef(s: string): OciLayoutRef {
  const rest = s.startsWith('oci-layout://') ? s.slice('oci-layout://'.length) : s;
  const at = rest.lastIndexOf('@');
  if (at > 0 && /^sha256:[a-f0-9]{64}$/.test(rest.slice(at + 1)))
    return { dir: rest.slice(0, at), tag: rest.slice(at + 1) };
  const colon = rest.lastIndexOf(':');
  if (colon > 0 && /^[\w][\w.-]{0,127}$/.test(rest.slice(colon + 1)))
    return { dir: rest.slice(0, colon), tag: rest.slice(colon + 1) };
  if (!rest) throw new UserError(`invalid OCI layout reference ${JSON.stringify(s)}: no directory`);
  return { dir: rest };
}

export async function resolveOciLayout(
  dir: string,
  tag: string | undefined,
  platform: PlatformSpec,
  store: ContentStore,
): Promise<LayoutResolvedImage> {
  const source = `oci-layout://${dir}${tag === undefined ? '' : tag.startsWith('sha256:') ? `@${tag}` : `:${tag}`}`;
  const root = resolvePath(dir);
  await checkLayoutMarker(root, source);
  const index = await readIndexJson(root, source);

  let loaded = await loadManifest(root, chooseFromIndex(index, tag, platform, source), source);
  let indexDescriptor: Descriptor | undefined;
  for (let depth = 0; loaded.parsed.kind === 'index'; depth++) {
    if (depth >= MAX_INDEX_DEPTH)
      throw new UserError(`${source}: indexes nested deeper than ${MAX_INDEX_DEPTH} levels`);
    indexDescriptor ??= loaded.descriptor;
    const chosen = selectManifest(loaded.parsed.index.manifests, platform);
    if (!chosen) throw noPlatform(source, loaded.parsed.index.manifests, platform);
    loaded = await loadManifest(root, chosen, source);
  }

  const manifest = loaded.parsed.manifest;
  const manifestDescriptor = loaded.descriptor;
  await store.put(loaded.bytes, manifestDescriptor.mediaType);
  await copyLayoutBlob(root, manifest.config, store, `${source}: config`);
  const config = parseConfig(await store.read(manifest.config.digest), `${source}: config`);
  checkLayersMatchConfig(manifest, config, source);
  // one at a time: a layout may have hundreds of layers, and this is local disk anyway
  for (const [i, layer] of manifest.layers.entries())
    await copyLayoutBlob(root, layer, store, `${source}: layer ${i + 1}`);

  return {
    source,
    layout: dir,
    ...(tag !== undefined ? { tag } : {}),
    manifestDescriptor,
    manifest,
    configDescriptor: manifest.config,
    config,
    ...(indexDescriptor ? { indexDescriptor } : {}),
  };
}

async function checkLayoutMarker(root: string, source: string): Promise<void> {
  let marker: unknown;
  try {
    marker = JSON.parse(await readFile(await layoutFile(root, 'oci-layout'), 'utf8'));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new UserError(
      `${source}: ${root} is not an OCI image layout (${missing ? 'no oci-layout file' : 'unreadable oci-layout file'})`,
      {
        hint: 'create one with `skopeo copy docker://IMAGE oci:DIR:TAG` or buildx `--output type=oci,tar=false,dest=DIR`',
      },
    );
  }
  if (typeof (marker as { imageLayoutVersion?: unknown })?.imageLayoutVersion !== 'string') {
    throw new UserError(`${source}: ${join(root, 'oci-layout')} has no imageLayoutVersion`);
  }
}

async function readIndexJson(
  root: string,
  source: string,
): Promise<Extract<ParsedManifest, { kind: 'index' }>['index']> {
  let bytes: Buffer;
  try {
    bytes = await readFile(await layoutFile(root, 'index.json'));
  } catch {
    throw new UserError(`${source}: the layout has no readable index.json`);
  }
  const parsed = parseManifest(bytes, MediaType.ociIndex, `${source}: index.json`);
  if (parsed.kind !== 'index') throw new UserError(`${source}: index.json is not an image index`);
  return parsed.index;
}

/** Picks the index.json entry the user meant: by digest, by tag, or the only image there is. */
/** With no `platform` (an artifact, not an image to run), a name must name one entry. */
function chooseFromIndex(
  index: { manifests: Descriptor[] },
  tag: string | undefined,
  platform: PlatformSpec | undefined,
  source: string,
): Wanted {
  if (tag?.startsWith('sha256:')) {
    // A digest may also name a blob the index does not list; the document itself says what it is.
    return index.manifests.find((d) => d.digest === tag) ?? { digest: tag as Digest };
  }
  const name = tag ?? 'latest';
  // containerd's exporter also writes the full name; accept either way of writing it
  let matches = index.manifests.filter(
    (d) => d.annotations?.[REF_NAME] === name || d.annotations?.[CONTAINERD_NAME] === name,
  );
  if (matches.length === 0 && tag === undefined && index.manifests.length === 1) matches = index.manifests;
  if (matches.length === 0) {
    const tags = [...new Set(index.manifests.map((d) => d.annotations?.[REF_NAME]).filter((t): t is string => !!t))];
    throw new UserError(`${source}: the layout has no image tagged ${JSON.stringify(name)}`, {
      hint: tags.length
        ? `its tags are: ${tags.join(', ')}`
        : 'its images have no tags; name one by digest (oci-layout://DIR@sha256:…)',
    });
  }
  if (matches.length === 1) return matches[0]!;
  if (!platform)
    throw new UserError(`${source}: ${matches.length} entries are tagged ${JSON.stringify(name)}; name one by digest`);
  // Several entries under one name (one per platform, as some tools write): choose like an index.
  const chosen = selectManifest(matches, platform);
  if (!chosen) throw noPlatform(source, matches, platform);
  return chosen;
}

function noPlatform(source: string, manifests: Descriptor[], platform: PlatformSpec): UserError {
  const available = [...new Set(manifests.filter((d) => d.platform).map((d) => formatPlatform(d.platform!)))];
  return new UserError(`${source} has no image for platform ${formatPlatform(platform)}`, {
    hint: available.length ? `it has images for: ${available.join(', ')}` : undefined,
  });
}

/** A manifest or index to read: an index entry, or just a digest the user named. */
type Wanted = Pick<Descriptor, 'digest'> & Partial<Descriptor>;

interface Loaded {
  descriptor: Descriptor;
  bytes: Buffer;
  parsed: ParsedManifest;
}

async function loadManifest(root: string, wanted: Wanted, source: string): Promise<Loaded> {
  const bytes = await readSmallBlob(root, wanted, source);
  const parsed = parseManifest(bytes, wanted.mediaType, `${source}: manifest ${wanted.digest}`);
  const descriptor: Descriptor = { mediaType: parsed.mediaType, digest: wanted.digest, size: bytes.length };
  if (wanted.platform) descriptor.platform = wanted.platform;
  return { descriptor, bytes, parsed };
}

/** Reads a manifest-sized blob of the layout, verified against its descriptor. */
async function readSmallBlob(root: string, wanted: Wanted, source: string): Promise<Buffer> {
  const path = await layoutBlobPath(root, wanted.digest, source);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new UserError(`${source}: the layout is missing blob ${wanted.digest}`);
  }
  if (size > MANIFEST_MAX_BYTES)
    throw new UserError(`${source}: manifest ${wanted.digest} is ${size} bytes, too big to be a manifest`);
  const bytes = await readFile(path);
  const digest = sha256Digest(bytes);
  if (digest !== wanted.digest)
    throw new UserError(`${source}: digest mismatch: blob ${wanted.digest} has content with digest ${digest}`);
  if (wanted.size !== undefined && wanted.size !== bytes.length) {
    throw new UserError(
      `${source}: size mismatch: blob ${wanted.digest} is ${bytes.length} bytes, its descriptor says ${wanted.size}`,
    );
  }
  return bytes;
}

/**
 * The single manifest tagged `tag` (or with digest `tag`) in the layout at `dir`, verified and
 * put into `store`, with no platform selection: for artifacts such as an exported build cache.
 */
export async function readLayoutManifest(
  dir: string,
  tag: string,
  store: ContentStore,
): Promise<{ descriptor: Descriptor; manifest: ImageManifest }> {
  const source = `${dir}${tag.startsWith('sha256:') ? `@${tag}` : `:${tag}`}`;
  const root = resolvePath(dir);
  await checkLayoutMarker(root, source);
  const index = await readIndexJson(root, source);
  const loaded = await loadManifest(root, chooseFromIndex(index, tag, undefined, source), source);
  if (loaded.parsed.kind !== 'manifest') throw new UserError(`${source} is an image index, not a single manifest`);
  await store.put(loaded.bytes, loaded.descriptor.mediaType);
  return { descriptor: loaded.descriptor, manifest: loaded.parsed.manifest };
}

/** Copies blob `desc` of the layout at `root` into `store`, verifying it; `what` names it in errors. */
export async function copyLayoutBlob(root: string, desc: Descriptor, store: ContentStore, what: string): Promise<void> {
  if (await store.has(desc.digest)) return;
  const path = await layoutBlobPath(root, desc.digest, what);
  try {
    await stat(path);
  } catch {
    throw new UserError(`${what}: the layout is missing blob ${desc.digest}`);
  }
  try {
    await store.ingest(createReadStream(path), { digest: desc.digest, size: desc.size }, what);
  } catch (err) {
    if (err instanceof DigestMismatchError) {
      throw new UserError(
        `${what}: digest mismatch: blob ${desc.digest} in the layout has ${err.what.endsWith('size') ? 'size' : 'digest'} ${err.actual}`,
        { cause: err },
      );
    }
    throw err;
  }
}

function layoutBlobPath(root: string, digest: string, what: string): Promise<string> {
  let hex: string;
  try {
    hex = parseDigest(digest).hex;
  } catch {
    throw new UserError(
      `${what}: unsupported or malformed digest ${JSON.stringify(digest)} (only sha256 is supported)`,
    );
  }
  return layoutFile(root, `blobs/sha256/${hex}`);
}

/**
 * A file of the layout, symlinks resolved inside the layout dir: a layout in the context can
 * only be read where the build was let read, not through a link to any host file.
 */
function layoutFile(root: string, rel: string): Promise<string> {
  return resolveInRoot(root, '/' + rel);
}
