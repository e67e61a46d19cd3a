import { isAbsolute, resolve } from 'node:path';
import type { ContentStore } from '../cache/content-store.js';
import type { BaseImageResolver, ResolvedBase } from '../frontend/build-plan.js';
import { hostPlatform } from '../frontend/platform.js';
import type { Descriptor, DiffId } from '../image/types.js';
import type { ImageOrigin } from '../solver/graph.js';
import type { RegistryClient } from '../registry/client.js';
import type { ResolvedImage } from '../registry/resolved-image.js';

/**
 * FROM and COPY --from images: `oci-layout://DIR[:tag]` (DIR relative to the build context) or a
 * registry reference. The registry client is loaded only when a build names a registry image.
 */
export class BaseImages {
  private client: Promise<RegistryClient> | undefined;
  private readonly refs = new Map<string, import('../registry/reference.js').ImageReference>();

  constructor(private readonly store: ContentStore, private readonly contextDir: string) {}

  private registry(): Promise<RegistryClient> {
    this.client ??= import('../registry/client.js').then((m) => new m.RegistryClient());
    return this.client;
  }

  readonly resolve: BaseImageResolver = async (ref) => {
    const platform = hostPlatform();
    let image: ResolvedImage;
    let origin: ImageOrigin;
    if (ref.startsWith('oci-layout://')) {
      const { parseOciLayoutRef, resolveOciLayout } = await import('../registry/oci-layout.js');
      const parsed = parseOciLayoutRef(ref);
      const dir = isAbsolute(parsed.dir) ? parsed.dir : resolve(this.contextDir, parsed.dir);
      image = await resolveOciLayout(dir, parsed.tag, platform, this.store);
      origin = { kind: 'oci-layout', dir };
    } else {
      const { parseReference } = await import('../registry/reference.js');
      const parsed = parseReference(ref);
      const resolved = await (await this.registry()).resolve(parsed, platform, this.store);
      image = resolved;
      this.refs.set(resolved.ref.toString(), resolved.ref);
      origin = { kind: 'registry', ref: resolved.ref.toString() };
    }
    return toResolvedBase(image, origin);
  };

  /** Ensures a layer blob is in the content store; layout blobs were copied when resolved. */
  async fetchBlob(origin: ImageOrigin, desc: Descriptor): Promise<void> {
    if (await this.store.has(desc.digest)) return;
    if (origin.kind === 'oci-layout') throw new Error(`blob ${desc.digest} of ${origin.dir} is missing from the content store`);
    const ref = this.refs.get(origin.ref) ?? (await import('../registry/reference.js')).parseReference(origin.ref);
    await (await this.registry()).fetchBlob(ref, desc, this.store);
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
