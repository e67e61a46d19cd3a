import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { writeFileAtomic } from '../cache/atomic-write.js';
import type { ContentStore } from '../cache/content-store.js';
import type { BaseImageResolver, ResolvedBase } from '../frontend/build-plan.js';
import { hostPlatform } from '../frontend/platform.js';
import type { Descriptor, DiffId, Digest } from '../image/types.js';
import type { BlobSources } from '../registry/blob-sources.js';
import type { RegistryClient } from '../registry/client.js';
import type { PlatformSpec } from '../registry/platform.js';
import type { ImageReference } from '../registry/reference.js';
import type { RegistryResolvedImage, ResolvedImage } from '../registry/resolved-image.js';
import type { ImageOrigin } from '../solver/graph.js';

export interface BaseImagesOptions {
  /** The state directory: tag resolutions and blob sources are kept there between builds. */
  stateRoot?: string;
  /** `--pull`: ask the registry what each tag points at now, even when a resolution is recorded. */
  pull?: boolean;
  /** `--allow fs.read` dirs: oci-layout bases outside the context may be read from under them. */
  fsRead?: readonly string[];
  /** Makes the registry client, the first time a build names a registry image. */
  registry?: () => Promise<{ client: RegistryClient; sources?: BlobSources }>;
}

/** What a tag resolved to, kept so the next build needs no registry round trip. */
interface TagRecord {
  ref: string;
  platform: PlatformSpec;
  digest: Digest;
  resolvedAt: string;
}

/**
 * FROM and COPY --from images: `oci-layout://DIR[:tag]` (DIR relative to the build context, and
 * inside it unless granted with --allow fs.read) or a
 * registry reference. Registry images are cached by digest: the first build records which
 * manifest a tag resolved to, and later builds use that digest and the blobs already in the
 * content store without asking the registry anything. `--pull` re-checks the tag with one
 * manifest HEAD (and a GET only when it moved). The registry client is loaded only when a
 * build names a registry image.
 */
export class BaseImages {
  private registry: Promise<{ client: RegistryClient; sources?: BlobSources }> | undefined;
  private readonly refs = new Map<string, ImageReference>();

  constructor(
    private readonly store: ContentStore,
    private readonly contextDir: string,
    private readonly opts: BaseImagesOptions = {},
  ) {}

  private client(): Promise<{ client: RegistryClient; sources?: BlobSources }> {
    this.registry ??= this.opts.registry
      ? this.opts.registry()
      : import('../registry/client.js').then((m) => ({ client: new m.RegistryClient() }));
    return this.registry;
  }

  /** Closes the registry client's connections, if one was made: the build is done with them. */
  close(): void {
    this.registry?.then(
      ({ client }) => client.close(),
      () => {},
    );
  }

  /** The build's registry client, for pushes: shares what pulls learnt (tokens, schemes). */
  readonly registryClient = async (): Promise<RegistryClient> => (await this.client()).client;

  readonly resolve: BaseImageResolver = async (ref, location) => {
    const platform = hostPlatform();
    let image: ResolvedImage;
    let origin: ImageOrigin;
    if (ref.startsWith('oci-layout://')) {
      const { parseOciLayoutRef, resolveOciLayout } = await import('../registry/oci-layout.js');
      const parsed = parseOciLayoutRef(ref);
      const dir = isAbsolute(parsed.dir) ? parsed.dir : resolve(this.contextDir, parsed.dir);
      const { checkLayoutAccess } = await import('./layout-access.js');
      await checkLayoutAccess(ref, dir, this.contextDir, this.opts.fsRead ?? [], location);
      image = await resolveOciLayout(dir, parsed.tag, platform, this.store);
      origin = { kind: 'oci-layout', dir };
    } else {
      const { parseReference } = await import('../registry/reference.js');
      const resolved = await this.resolveRegistry(parseReference(ref), platform);
      image = resolved;
      this.refs.set(resolved.ref.toString(), resolved.ref);
      origin = { kind: 'registry', ref: resolved.ref.toString() };
    }
    return toResolvedBase(image, origin);
  };

  private async resolveRegistry(ref: ImageReference, platform: PlatformSpec): Promise<RegistryResolvedImage> {
    const { client, sources } = await this.client();
    if (ref.digest) return client.resolve(ref, platform, this.store);
    const recordPath = this.opts.stateRoot ? tagRecordPath(this.opts.stateRoot, ref, platform) : undefined;
    const recorded = recordPath ? await readRecord(recordPath) : undefined;
    if (recorded) {
      // Pinned to what the tag meant last time: no request at all when the blobs are here.
      const current = this.opts.pull ? await client.headManifest(ref) : recorded.digest;
      if (current === recorded.digest) {
        const pinned = await client
          .resolve(ref.withDigest(recorded.digest), platform, this.store)
          .catch(() => undefined);
        // Gone from both the store and the registry: resolve the tag afresh below.
        if (pinned) return { ...pinned, source: ref.toString() };
      }
    }
    const resolved = await client.resolve(ref, platform, this.store);
    if (recordPath) {
      const record: TagRecord = {
        ref: ref.toString(),
        platform,
        digest: resolved.ref.digest!,
        resolvedAt: new Date().toISOString(),
      };
      await mkdir(join(recordPath, '..'), { recursive: true });
      await writeFileAtomic(recordPath, JSON.stringify(record));
    }
    if (sources) {
      for (const d of [resolved.configDescriptor, ...resolved.manifest.layers])
        await sources.add(d.digest, ref.registry, ref.repository);
    }
    return resolved;
  }

  /** Ensures a layer blob is in the content store; layout blobs were copied when resolved. */
  async fetchBlob(origin: ImageOrigin, desc: Descriptor): Promise<void> {
    if (await this.store.has(desc.digest)) return;
    if (origin.kind === 'oci-layout')
      throw new Error(`blob ${desc.digest} of ${origin.dir} is missing from the content store`);
    const ref = this.refs.get(origin.ref) ?? (await import('../registry/reference.js')).parseReference(origin.ref);
    await (await this.client()).client.fetchBlob(ref, desc, this.store);
  }
}

function tagRecordPath(stateRoot: string, ref: ImageReference, platform: PlatformSpec): string {
  const key = createHash('sha256')
    .update(`${ref.withDefaultTag().toString()}\n${JSON.stringify(platform)}`)
    .digest('hex');
  return join(stateRoot, 'resolved-tags', `${key}.json`);
}

async function readRecord(path: string): Promise<TagRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(path, 'utf8')) as TagRecord;
    return /^sha256:[a-f0-9]{64}$/.test(r.digest) ? r : undefined;
  } catch {
    return undefined;
  }
}

function toResolvedBase(image: ResolvedImage, origin: ImageOrigin): ResolvedBase {
  const diffIds = image.config.rootfs?.diff_ids ?? [];
  return {
    vertexOp: {
      type: 'image',
      ref: image.source,
      manifestDigest: image.manifestDescriptor.digest,
      layers: image.manifest.layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i] as DiffId })),
      origin,
    },
    architecture: image.config.architecture,
    os: image.config.os,
    ...(image.config.variant ? { variant: image.config.variant } : {}),
    config: image.config.config ?? {},
    history: image.config.history ?? [],
  };
}
