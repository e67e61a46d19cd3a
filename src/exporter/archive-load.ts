import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import type { ContentStore } from '../store/content-store.js';
import { DigestMismatchError, sha256Digest } from '../store/content-store.js';
import { UserError } from '../errors.js';
import type { Descriptor, Digest, ImageConfig, ImageIndex, ImageManifest } from '../image/types.js';
import { isIndexMediaType, MediaType } from '../image/types.js';
import { ANNOTATION_IMAGE_NAME, normalizeImageName } from './image-names.js';
import type { DockerManifestEntry } from './docker-archive.js';

const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
/** Files up to this size are read into memory (manifests, configs, docker's per-layer json); larger ones go to the store as they come. */
const SMALL_FILE = 4 << 20;

/** One image found in an archive, its blobs now in the store. */
export interface LoadedImage {
  /** The manifest (or index) to name. */
  target: Descriptor;
  /** The names the archive gives it (docker's RepoTags, or the OCI index's annotations), as written there. */
  names: string[];
}

type Stored = { digest: Digest; size: number };

/**
 * Reads a `docker save` archive (manifest.json; Docker 25's layout and the older one with
 * `<id>/layer.tar`) or an OCI image layout archive (index.json), gzip-compressed or not, into the
 * content store. Every blob is hashed as it is ingested: a file under `blobs/sha256/<hex>` whose
 * content has another digest, or an uncompressed docker layer whose digest is not its diff_id,
 * fails the load. The caller names the images it returns.
 */
export async function loadArchive(store: ContentStore, input: Readable, label: string): Promise<LoadedImage[]> {
  const tar = await tarBytes(input, label);
  const extract = tarStream.extract();
  tar.on('error', (err: Error) => extract.destroy(err));
  tar.pipe(extract);
  const small = new Map<string, Buffer>();
  const stored = new Map<string, Stored>();
  const links = new Map<string, string>();
  try {
    for await (const entry of extract) {
      const name = cleanName(entry.header.name);
      if ((entry.header.type === 'symlink' || entry.header.type === 'link') && name !== undefined) {
        const target = entry.header.linkname ?? '';
        links.set(
          name,
          entry.header.type === 'link' ? (cleanName(target) ?? '') : posix.join(posix.dirname(name), target),
        );
        entry.resume();
        continue;
      }
      if (entry.header.type !== 'file' || name === undefined) {
        entry.resume();
        continue;
      }
      const blobDigest = digestOfBlobPath(name);
      if ((entry.header.size ?? 0) <= SMALL_FILE) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        const data = Buffer.concat(chunks);
        if (blobDigest) {
          const actual = sha256Digest(data);
          if (actual !== blobDigest) throw corrupt(label, name, actual);
          await store.put(data, 'application/octet-stream');
          stored.set(name, { digest: blobDigest, size: data.length });
        } else small.set(name, data);
        continue;
      }
      if (blobDigest && (await store.has(blobDigest))) {
        // already held (and verified when it came in): the archive's copy is read past
        for await (const _ of entry);
        stored.set(name, { digest: blobDigest, size: await store.size(blobDigest) });
        continue;
      }
      try {
        stored.set(
          name,
          await store.ingest(
            Readable.from(entry),
            blobDigest ? { digest: blobDigest } : undefined,
            `${label}: ${name}`,
          ),
        );
      } catch (err) {
        if (err instanceof DigestMismatchError) throw corrupt(label, name, err.actual);
        throw err;
      }
    }
  } catch (err) {
    tar.destroy();
    if (err instanceof UserError || err instanceof DigestMismatchError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    // tar-stream's and zlib's complaints are about the bytes given, not the machine
    if ((err as Error)?.message && (!code || code.startsWith('Z_')))
      throw new UserError(`${label} is not a readable archive: ${(err as Error).message}`, { cause: err });
    throw err;
  }

  const files = new ArchiveFiles(store, small, stored, links, label);
  const manifestJson = small.get('manifest.json');
  const indexJson = small.get('index.json');
  if (manifestJson)
    return loadDockerEntries(files, parseJson<DockerManifestEntry[]>(manifestJson, label, 'manifest.json'), indexJson);
  if (indexJson) return loadOciEntries(files, parseJson<ImageIndex>(indexJson, label, 'index.json'));
  throw new UserError(
    `${label} holds no image: it has neither manifest.json (docker save) nor index.json (OCI layout)`,
    {
      hint: 'give an archive made by docker save, tsbuild save or an OCI image layout tarred',
    },
  );
}

/** The archive's files: small ones in memory, big ones already in the store; symlinks followed. */
class ArchiveFiles {
  constructor(
    readonly store: ContentStore,
    private readonly small: Map<string, Buffer>,
    private readonly stored: Map<string, Stored>,
    private readonly links: Map<string, string>,
    readonly label: string,
  ) {}

  /** The file at `path` as a blob of the store. */
  async blob(path: string, mediaType: string): Promise<Descriptor> {
    let name = cleanName(path) ?? '';
    for (let hops = 0; this.links.has(name) && hops < 16; hops++) name = cleanName(this.links.get(name)!) ?? '';
    const big = this.stored.get(name);
    if (big) return { mediaType, digest: big.digest, size: big.size };
    const data = this.small.get(name);
    if (!data) throw new UserError(`${this.label}: ${path} is named in the archive's manifest but is not in it`);
    return this.store.put(data, mediaType);
  }

  async json<T>(d: Descriptor): Promise<T> {
    return parseJson<T>(await this.store.read(d.digest), this.label, d.digest);
  }
}

async function loadDockerEntries(
  files: ArchiveFiles,
  entries: DockerManifestEntry[],
  indexJson: Buffer | undefined,
): Promise<LoadedImage[]> {
  if (!Array.isArray(entries)) throw new UserError(`${files.label}: manifest.json is not a list of images`);
  // Docker 25 and tsbuild write an OCI index beside manifest.json: its manifests are kept as they are
  const known: { desc: Descriptor; manifest: ImageManifest; index?: Descriptor }[] = [];
  if (indexJson) {
    for (const d of parseJson<ImageIndex>(indexJson, files.label, 'index.json').manifests ?? []) {
      const desc = await files.blob(`blobs/sha256/${d.digest.slice(7)}`, d.mediaType).catch(() => undefined);
      if (!desc) continue;
      const typed = { mediaType: d.mediaType, digest: desc.digest, size: desc.size };
      if (isIndexMediaType(d.mediaType)) known.push(...(await indexManifests(files, typed)));
      else known.push({ desc: typed, manifest: await files.json<ImageManifest>(desc) });
    }
  }
  const out: LoadedImage[] = [];
  for (const e of entries) {
    const config = await files.blob(e.Config, MediaType.ociConfig);
    const layers = await Promise.all((e.Layers ?? []).map((l) => files.blob(l, MediaType.ociLayerTar)));
    const image = await files.json<ImageConfig>(config);
    const diffIds = image.rootfs?.diff_ids ?? [];
    if (diffIds.length !== layers.length)
      throw new UserError(
        `${files.label}: the image ${e.Config} has ${layers.length} layers in manifest.json and ${diffIds.length} in its config`,
      );
    const same = known.find(
      (k) =>
        k.manifest.config.digest === config.digest &&
        k.manifest.layers.length === layers.length &&
        k.manifest.layers.every((l, i) => l.digest === layers[i]!.digest),
    );
    let target: Descriptor;
    // the entry is one platform of a multi-platform index the archive holds whole: the index is loaded, as
    // Docker 25 with the containerd store loads it
    if (same) target = same.index ?? { mediaType: same.desc.mediaType, digest: same.desc.digest, size: same.desc.size };
    else {
      const typed = await Promise.all(layers.map((l) => withLayerMediaType(files.store, l)));
      typed.forEach((l, i) => {
        if (l.mediaType === MediaType.ociLayerTar && l.digest !== (diffIds[i] as string))
          throw new UserError(
            `${files.label}: layer ${e.Layers[i]} has digest ${l.digest}, its config says ${diffIds[i]}`,
          );
      });
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.size },
        layers: typed,
      };
      target = await files.store.put(JSON.stringify(manifest), MediaType.ociManifest);
    }
    out.push({ target, names: e.RepoTags ?? [] });
  }
  return out;
}

/**
 * The platform manifests of an index in a docker archive (Docker 25's `docker save` of a
 * multi-platform image) that the archive holds, each marked with the index when every blob of
 * every platform is there (else manifest.json's image is loaded on its own, as it was saved).
 */
async function indexManifests(
  files: ArchiveFiles,
  index: Descriptor,
): Promise<{ desc: Descriptor; manifest: ImageManifest; index?: Descriptor }[]> {
  const out: { desc: Descriptor; manifest: ImageManifest }[] = [];
  let whole = true;
  const present = (d: Descriptor) =>
    files.blob(`blobs/sha256/${d.digest.slice(7)}`, d.mediaType).catch((err: unknown) => {
      if (err instanceof UserError) return undefined;
      throw err;
    });
  const entries = await files.json<ImageIndex>(index).then(
    (i) => i.manifests ?? [],
    () => [],
  );
  for (const d of entries) {
    const desc = isIndexMediaType(d.mediaType) ? undefined : await present(d);
    if (!desc) {
      whole = false;
      continue;
    }
    const manifest = await files.json<ImageManifest>(desc).catch(() => undefined);
    if (!manifest) {
      whole = false;
      continue;
    }
    for (const b of [manifest.config, ...(manifest.layers ?? [])]) if (!(await present(b))) whole = false;
    out.push({ desc: { mediaType: d.mediaType, digest: desc.digest, size: desc.size }, manifest });
  }
  return whole ? out.map((k) => ({ ...k, index })) : out;
}

async function loadOciEntries(files: ArchiveFiles, index: ImageIndex): Promise<LoadedImage[]> {
  const out: LoadedImage[] = [];
  for (const d of index.manifests ?? []) {
    const desc = await files.blob(`blobs/sha256/${(d.digest ?? '').slice(7)}`, d.mediaType);
    const target: Descriptor = { mediaType: d.mediaType, digest: desc.digest, size: desc.size };
    if (d.platform) target.platform = d.platform;
    const name = ociEntryName(d);
    const same = out.find((o) => o.target.digest === target.digest);
    if (same) {
      if (name) same.names.push(name);
    } else out.push({ target, names: name ? [name] : [] });
  }
  return out;
}

/**
 * An OCI index entry's image name: containerd's full name, else a ref name that is a whole
 * reference (`app:1`, as skopeo writes it). A bare ref name is a tag without a repository (OCI's
 * convention, buildx's `latest`), which names nothing here.
 */
export function ociEntryName(d: Descriptor): string | undefined {
  const full = d.annotations?.[ANNOTATION_IMAGE_NAME];
  if (full) return full;
  const ref = d.annotations?.[ANNOTATION_REF_NAME];
  if (!ref || !/[:/]/.test(ref)) return undefined;
  try {
    return normalizeImageName(ref).full;
  } catch {
    return undefined;
  }
}

/** A docker layer file's media type, by its first bytes (docker save keeps layers as they were: tar, gzip or zstd). */
async function withLayerMediaType(store: ContentStore, d: Descriptor): Promise<Descriptor> {
  const fh = await open(store.blobPath(d.digest), 'r');
  const head = Buffer.alloc(4);
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  const mediaType =
    head[0] === 0x1f && head[1] === 0x8b
      ? MediaType.ociLayerGzip
      : head.readUInt32LE(0) === 0xfd2fb528
        ? MediaType.ociLayerZstd
        : MediaType.ociLayerTar;
  return { mediaType, digest: d.digest, size: d.size };
}

/** The archive's tar stream: gunzipped when it starts with gzip's magic (docker load takes both). */
async function tarBytes(input: Readable, label: string): Promise<Readable> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await it.next();
  if (first.done || first.value.length === 0) throw new UserError(`${label} is empty: there is no archive to load`);
  const all = Readable.from(
    (async function* () {
      yield first.value;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield n.value;
      }
    })(),
  );
  const head = Buffer.from(first.value);
  if (head[0] !== 0x1f || head[1] !== 0x8b) return all;
  const gunzip = createGunzip();
  all.on('error', (err) => gunzip.destroy(err));
  return all.pipe(gunzip);
}

function cleanName(name: string): string | undefined {
  const clean = posix.normalize(name.replace(/^\/+/, '')).replace(/\/+$/, '');
  return clean === '.' || clean === '' || clean.startsWith('../') ? undefined : clean;
}

function digestOfBlobPath(name: string | undefined): Digest | undefined {
  const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name ?? '');
  return m ? (`sha256:${m[1]}` as Digest) : undefined;
}

function corrupt(label: string, name: string, actual: string): UserError {
  return new UserError(`${label} is corrupt: ${name} holds content with digest ${actual}`, {
    hint: 'the archive was damaged or changed after it was written; make it again',
  });
}

function parseJson<T>(data: Buffer, label: string, what: string): T {
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch {
    throw new UserError(`${label}: ${what} is not valid JSON`);
  }
}
