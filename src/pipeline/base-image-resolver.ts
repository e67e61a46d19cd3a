import type { BaseImageResolver, ResolvedBase } from '../frontend/build-plan.js';
import { hostPlatform } from '../frontend/platform.js';
import type { DiffId } from '../image/types.js';
import type { BaseImageOrigin, BaseImages } from '../registry/base-images.js';
import type { ResolvedImage } from '../registry/resolved-image.js';

/**
 * The frontend's FROM resolver: the host's platform, oci-layout dirs inside the context or under
 * an `--allow fs.read` dir, and the resolved image as the op the solver pulls layers with.
 */
export function baseImageResolver(bases: BaseImages, contextDir: string, fsRead: readonly string[]): BaseImageResolver {
  return async (ref, location) => {
    const { image, origin } = await bases.resolve(ref, hostPlatform(), async (dir) => {
      const { checkLayoutAccess } = await import('./layout-access.js');
      await checkLayoutAccess(ref, dir, contextDir, fsRead, location);
    });
    return toResolvedBase(image, origin);
  };
}

function toResolvedBase(image: ResolvedImage, origin: BaseImageOrigin): ResolvedBase {
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
