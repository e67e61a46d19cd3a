import { isAbsolute, resolve } from 'node:path';
import type { ContentStore } from '../store/content-store.js';
import type { Descriptor } from '../image/types.js';
import type { BlobSources } from './blob-sources.js';
import type { RegistryClient } from './client.js';
import type { PlatformSpec } from './platform.js';
import type { ImageReference } from './reference.js';
import type { RegistryResolvedImage, ResolvedImage } from './resolved-image.js';
import { readTagPin, tagPinPath, writeTagPin, type TagPin } from './tag-pins.js';

/** Where a base image's blobs come from (the solver's ImageOrigin has the same shape). */
export type BaseImageOrigin = { kind: 'registry'; ref: string } | { kind: 'oci-layout'; dir: string };

export interface BaseImagesOptions {
  /** The state directory: tag resolutions and blob sources are kept there between builds. */
  stateRoot?: string;
  /** `--pull`: ask the registry what each tag points at now, even when a resolution is recorded. */
  pull?: boolean;
  /** Makes the registry client, the first time a build names a registry image. */
  registry?: () => Promise<{ client: RegistryClient; sources?: BlobSources }>;
}

/**
 * FROM and COPY --from images: `oci-layout://DIR[:tag]` (DIR relative to the build context; the
 * caller checks it may be read) or a registry reference. Registry images are cached by digest: the first build records which
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
      : import('./client.js').then((m) => ({ client: new m.RegistryClient() }));
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

  /** Resolves `ref` for `platform`; `checkLayout` is asked first whether an oci-layout DIR may be read. */
  async resolve(
    ref: string,
    platform: PlatformSpec,
    checkLayout: (dir: string) => Promise<void>,
  ): Promise<{ image: ResolvedImage; origin: BaseImageOrigin }> {
    if (ref.startsWith('oci-layout://')) {
      const { parseOciLayoutRef, resolveOciLayout } = await import('./oci-layout.js');
      const parsed = parseOciLayoutRef(ref);
      const dir = isAbsolute(parsed.dir) ? parsed.dir : resolve(this.contextDir, parsed.dir);
      await checkLayout(dir);
      return {
        image: await resolveOciLayout(dir, parsed.tag, platform, this.store),
        origin: { kind: 'oci-layout', dir },
      };
    }
    const { parseReference } = await import('./reference.js');
    const resolved = await this.resolveRegistry(parseReference(ref), platform);
    this.refs.set(resolved.ref.toString(), resolved.ref);
    return { image: resolved, origin: { kind: 'registry', ref: resolved.ref.toString() } };
  }

  private async resolveRegistry(ref: ImageReference, platform: PlatformSpec): Promise<RegistryResolvedImage> {
    const { client, sources } = await this.client();
    if (ref.digest) return client.resolve(ref, platform, this.store);
    const recordPath = this.opts.stateRoot ? tagPinPath(this.opts.stateRoot, ref, platform) : undefined;
    const recorded = recordPath ? await readTagPin(recordPath) : undefined;
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
      const record: TagPin = {
        ref: ref.toString(),
        platform,
        digest: resolved.ref.digest!,
        resolvedAt: new Date().toISOString(),
      };
      await writeTagPin(recordPath, record);
    }
    if (sources) {
      for (const d of [resolved.configDescriptor, ...resolved.manifest.layers])
        await sources.add(d.digest, ref.registry, ref.repository);
    }
    return resolved;
  }

  /**
   * Ensures a layer blob is in the content store; layout blobs were copied when resolved.
   * `onBytes` hears of a download's progress (see RegistryClient.fetchBlob).
   */
  async fetchBlob(
    origin: BaseImageOrigin,
    desc: Descriptor,
    onBytes?: (done: number, total: number) => void,
  ): Promise<void> {
    if (await this.store.has(desc.digest)) return;
    if (origin.kind === 'oci-layout')
      throw new Error(`blob ${desc.digest} of ${origin.dir} is missing from the content store`);
    const ref = this.refs.get(origin.ref) ?? (await import('./reference.js')).parseReference(origin.ref);
    await (await this.client()).client.fetchBlob(ref, desc, this.store, onBytes ? { onBytes } : {});
  }
}
