import { isAttestationEntry } from './attestation-manifest.js';
import type { ContentStore } from '../store/content-store.js';
import { UserError } from '../errors.js';
import type { Descriptor, Digest, ImageConfig, ImageIndex, ImageManifest } from '../image/types.js';
import { isIndexMediaType } from '../image/types.js';
import {
  defaultPlatform,
  formatPlatform,
  normalizePlatform,
  platformsEqual,
  selectManifest,
  type PlatformSpec,
} from '../registry/platform.js';
import { storeImage } from './local-store.js';
import { ANNOTATION_IMAGE_NAME, normalizeImageName, type ImageName } from './image-names.js';

const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
export { ANNOTATION_REPO_DIGEST } from './local-store.js';
import { ANNOTATION_REPO_DIGEST } from './local-store.js';

/** One entry of the state directory's index.json: an image and the name it is stored under, if any. */
export interface StoredImage {
  /** What the entry points at (a manifest, or an index for a multi-platform image), without its annotations. */
  target: Descriptor;
  /** Undefined for an image loaded without a name. */
  name?: ImageName;
  /**
   * The digest the name's repository has the image under, once pulled from or pushed to it
   * (docker's RepoDigests): `repository@digest` with the name's familiar repository.
   */
  repoDigest?: string;
}

/** An image as `images`, `inspect` and `history` show it. */
export interface ImageDetails {
  /** docker's image ID: the digest of the config (of this machine's platform, for a multi-platform image). */
  id: Digest;
  target: Descriptor;
  /** The single-platform manifest the ID and config come from. */
  manifest: Descriptor;
  config: ImageConfig;
  layers: Descriptor[];
  /** Bytes the image takes in the store: manifests, config and layer blobs as stored (each once). */
  size: number;
}

/**
 * The images of a state directory's content store (its index.json), with docker's rules for
 * names and IDs: `app` means `docker.io/library/app:latest`, an image's ID is its config digest and
 * any unique prefix of it names the image too. The CLI's image commands read and change the
 * store only through this.
 */
export class ImageStore {
  private readonly detailsCache = new Map<string, Promise<ImageDetails>>();

  constructor(readonly content: ContentStore) {}

  /** Every entry of index.json, named or not. */
  async list(): Promise<StoredImage[]> {
    const index = await this.content.readIndex();
    return index.manifests.map(storedOf);
  }

  /**
   * Records that the stored name `name` is `digest` in its registry (after a pull or a push of
   * it), as an annotation of its index.json entry: RepoDigests for inspect and `images
   * --digests`. An annotation refers to no blob, so the GC's roots stay what they were; the
   * record goes with the entry (rmi), and a rebuild naming the same image keeps it (storeImage).
   */
  async recordRepoDigest(name: string, digest: Digest): Promise<void> {
    const full = normalizeImageName(name).full;
    await this.content.updateIndex((manifests) => {
      let changed = false;
      const next = manifests.map((d) => {
        if (entryName(d)?.full !== full || d.annotations?.[ANNOTATION_REPO_DIGEST] === digest) return d;
        changed = true;
        // in the order storeImage writes them, so a rebuild naming the same image rewrites nothing
        const { [ANNOTATION_REF_NAME]: refName, ...rest } = d.annotations ?? {};
        const annotations = {
          ...rest,
          [ANNOTATION_REPO_DIGEST]: digest,
          ...(refName ? { [ANNOTATION_REF_NAME]: refName } : {}),
        };
        return { ...d, annotations };
      });
      return changed ? next : undefined;
    });
  }

  /** docker's RepoDigests of an image: `repository@digest` of each of its names that has one. */
  async repoDigests(id: Digest, target?: Descriptor): Promise<string[]> {
    const out = new Set<string>();
    for (const i of await this.list())
      if (i.repoDigest && (i.target.digest === target?.digest || (await this.details(i.target)).id === id))
        out.add(i.repoDigest);
    return [...out].sort();
  }

  /**
   * Config, layers and size of an entry's image (read once per target and platform): of `platform`'s
   * manifest when given (`inspect --platform`, `run --platform`), else of this machine's platform,
   * for a multi-platform image. A platform the image does not have is a UserError naming those it has.
   */
  details(target: Descriptor, platform?: PlatformSpec): Promise<ImageDetails> {
    const key = platform ? `${target.digest} ${formatPlatform(normalizePlatform(platform))}` : target.digest;
    let p = this.detailsCache.get(key);
    if (!p) {
      p = readDetails(this.content, target, platform);
      this.detailsCache.set(key, p);
    }
    return p;
  }

  /** The platforms of a multi-platform image (its index's entries, in order); none for a single manifest. */
  async platformsOf(target: Descriptor): Promise<{ platform: string; details: ImageDetails }[]> {
    if (!isIndexMediaType(target.mediaType)) return [];
    const index = await this.content.readJson<ImageIndex>(target.digest);
    const out = [];
    for (const m of index.manifests) {
      // an attestation manifest (unknown/unknown) is no image of the index
      if (!m.platform || isAttestationEntry(m)) continue;
      out.push({ platform: formatPlatform(m.platform), details: await this.details(target, m.platform) });
    }
    return out;
  }

  /**
   * The entries `ref` names, as docker looks an image up: a name (tag defaulted to latest), a name
   * with the manifest digest, or an image ID (`sha256:…` or a unique hex prefix of it). A name
   * gives one entry; an ID every entry of that image. Throws "No such image" when nothing matches.
   */
  async resolve(ref: string): Promise<{ images: StoredImage[]; byId: boolean }> {
    const all = await this.list();
    let name: ImageName | undefined;
    let digest: string | undefined;
    try {
      const at = ref.lastIndexOf('@');
      if (at > 0) {
        digest = ref.slice(at + 1);
        name = normalizeImageName(ref.slice(0, at));
      } else name = normalizeImageName(ref);
    } catch {
      name = undefined;
    }
    if (name) {
      const hit = all.find(
        (i) =>
          i.name?.full === name.full ||
          (digest !== undefined && i.name?.repository === name.repository && i.target.digest === digest),
      );
      if (hit) return { images: [hit], byId: false };
    }
    const id = /^(?:sha256:)?([a-f0-9]{1,64})$/.exec(ref)?.[1];
    if (id) {
      const withIds = await Promise.all(all.map(async (i) => ({ i, id: (await this.details(i.target)).id })));
      const hits = withIds.filter((x) => x.id.slice('sha256:'.length).startsWith(id));
      const ids = new Set(hits.map((h) => h.id));
      if (ids.size > 1)
        throw new UserError(`${ref} names more than one image (${[...ids].map((d) => d.slice(7, 19)).join(', ')})`, {
          hint: 'give more of the image ID, or a name',
        });
      if (hits.length) return { images: hits.map((h) => h.i), byId: true };
    }
    throw new UserError(`No such image: ${ref}`, { hint: 'tsbuild images lists the images in the state directory' });
  }

  /** `tag SOURCE TARGET`: names the image SOURCE names (one of its entries) TARGET too. */
  async tag(source: string, target: string): Promise<ImageName> {
    const name = normalizeImageName(target);
    const { images } = await this.resolve(source);
    await storeImage(this.content, images[0]!.target, [target]);
    return name;
  }

  /**
   * `rmi REF`: removes the entries REF names. Only the name goes: the blobs stay until the next
   * prune (or the cache cap) finds nothing referring to them. An ID whose image has several names
   * is refused unless `force`, as docker refuses it.
   */
  async remove(ref: string, opts: { force?: boolean } = {}): Promise<{ untagged: string[]; deleted?: Digest }> {
    const { images, byId } = await this.resolve(ref);
    const { id } = await this.details(images[0]!.target);
    const names = new Set(images.flatMap((i) => (i.name ? [i.name.full] : [])));
    if (byId && names.size > 1 && !opts.force)
      throw new UserError(
        `conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`,
        { hint: `remove it by name, or add --force to remove all its names` },
      );
    const gone = new Set(images.map((i) => entryKey(i)));
    await this.content.updateIndex((manifests) => manifests.filter((d) => !gone.has(entryKey(storedOf(d)))));
    const left = await this.list();
    const stillThere = await Promise.all(left.map(async (i) => (await this.details(i.target)).id === id));
    const untagged = images.flatMap((i) => (i.name ? [i.name.familiar] : []));
    return stillThere.some(Boolean) ? { untagged } : { untagged, deleted: id };
  }

  /** Stores `target` under `names`, or as an unnamed entry when there are none (a loaded image without a name). */
  async add(target: Descriptor, names: string[]): Promise<void> {
    if (names.length) {
      await storeImage(this.content, target, names);
      return;
    }
    const plain = plainDescriptor(target);
    await this.content.updateIndex((manifests) =>
      manifests.some((d) => d.digest === plain.digest && !entryName(d)) ? undefined : [...manifests, plain],
    );
  }
}

/** The name an index.json entry is stored under: containerd's full name, else the ref name tsbuild writes (`app:1.0`). */
function entryName(d: Descriptor): ImageName | undefined {
  for (const key of [ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME]) {
    const value = d.annotations?.[key];
    if (!value) continue;
    try {
      return normalizeImageName(value);
    } catch {
      // a name another tool wrote that docker would not take: try the other annotation
    }
  }
  return undefined;
}

function plainDescriptor(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.platform) out.platform = d.platform;
  return out;
}

function storedOf(d: Descriptor): StoredImage {
  const name = entryName(d);
  if (!name) return { target: plainDescriptor(d) };
  const digest = d.annotations?.[ANNOTATION_REPO_DIGEST];
  return {
    target: plainDescriptor(d),
    name,
    ...(digest && /^sha256:[a-f0-9]{64}$/.test(digest) ? { repoDigest: `${name.repository}@${digest}` } : {}),
  };
}

const entryKey = (i: StoredImage): string => `${i.target.digest} ${i.name?.full ?? ''}`;

async function readDetails(store: ContentStore, target: Descriptor, platform?: PlatformSpec): Promise<ImageDetails> {
  const blobs = new Map<string, number>([[target.digest, target.size]]);
  let manifestDesc = target;
  if (isIndexMediaType(target.mediaType)) {
    const index = await store.readJson<ImageIndex>(target.digest);
    const chosen = platform
      ? selectManifest(index.manifests, platform)
      : (selectManifest(index.manifests, defaultPlatform()) ?? index.manifests[0]);
    if (!chosen) {
      if (!platform) throw new UserError(`image ${target.digest} is an empty index`);
      const has = index.manifests.flatMap((m) => (m.platform ? [formatPlatform(m.platform)] : []));
      throw noSuchPlatform(platform, has);
    }
    // one platform asked for: that platform's blobs only (its row of `images --tree`)
    if (platform) blobs.clear();
    else for (const m of index.manifests) blobs.set(m.digest, m.size);
    manifestDesc = chosen;
  }
  const manifest = await store.readJson<ImageManifest>(manifestDesc.digest);
  const config = await store.readJson<ImageConfig>(manifest.config.digest);
  if (platform && manifestDesc === target && !platformsEqual(platform, config)) {
    throw noSuchPlatform(platform, [formatPlatform(config)]);
  }
  for (const b of [manifest.config, ...manifest.layers]) blobs.set(b.digest, b.size);
  let size = 0;
  for (const n of blobs.values()) size += n;
  return { id: manifest.config.digest, target, manifest: manifestDesc, config, layers: manifest.layers, size };
}

/** docker's words for an image without the asked-for platform, with the platforms it has. */
function noSuchPlatform(wanted: PlatformSpec, has: string[]): UserError {
  return new UserError(
    `image was found but does not provide the specified platform (${formatPlatform(normalizePlatform(wanted))})`,
    { hint: `it has ${has.join(', ') || 'no platform'}` },
  );
}
