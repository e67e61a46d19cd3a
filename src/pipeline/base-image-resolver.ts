import type { BaseImageResolver, ResolvedBase } from '../frontend/build-plan.js';
import { hostPlatform } from '../frontend/platform.js';
import type { DiffId } from '../image/types.js';
import type { BaseImageOrigin, BaseImages } from '../registry/base-images.js';
import type { ResolvedImage } from '../registry/resolved-image.js';
import { defaultPlatform, formatPlatform, platformsEqual, type PlatformSpec } from '../registry/platform.js';
import type { EventSink } from '../solver/events.js';
import { internalStep } from './internal-step.js';

/**
 * The frontend's FROM resolver: the host's platform, oci-layout dirs inside the context or under
 * an `--allow fs.read` dir, and the resolved image as the op the solver pulls layers with. A
 * registry image shows as a step while it is resolved (`[internal] load metadata for REF`, as
 * BuildKit shows it): a registry that takes long to answer, or never does, is seen waiting.
 */
export function baseImageResolver(
  bases: BaseImages,
  contextDir: string,
  fsRead: readonly string[],
  emit: EventSink,
  signal?: AbortSignal,
): BaseImageResolver {
  // A build for several platforms converts the Dockerfile once per platform: each base is resolved
  // once per platform it is asked for, so the conversions get the same op and share its vertex.
  const resolved = new Map<string, Promise<ResolvedBase>>();
  return (ref, location, platform) => {
    const memo = `${ref}\0${formatPlatform(platform ?? hostPlatform())}`;
    let p = resolved.get(memo);
    if (!p) {
      p = resolveOnce(ref, location, platform);
      resolved.set(memo, p);
    }
    return p;
  };

  async function resolveOnce(
    ref: string,
    location: Parameters<BaseImageResolver>[1],
    platform: PlatformSpec | undefined,
  ): Promise<ResolvedBase> {
    const resolving = () =>
      bases.resolve(ref, platform ?? hostPlatform(), async (dir) => {
        const { checkLayoutAccess } = await import('./layout-access.js');
        await checkLayoutAccess(ref, dir, contextDir, fsRead, location);
      });
    const { image, origin } = ref.startsWith('oci-layout://')
      ? await resolving()
      : await internalStep(await metadataVertex(ref, platform), resolving, emit, signal);
    return toResolvedBase(image, origin);
  }
}

/** The step a registry reference's resolution shows as; a reference that does not parse fails in resolve. */
async function metadataVertex(ref: string, platform?: PlatformSpec): Promise<{ id: string; name: string }> {
  const { parseReference } = await import('../registry/reference.js');
  let full = ref;
  try {
    full = parseReference(ref).withDefaultTag().toString();
  } catch {
    // resolve says what is wrong with it
  }
  // one step per platform asked for (each resolves its own manifest), named as BuildKit names it
  const on = platform && !platformsEqual(platform, defaultPlatform()) ? `@${formatPlatform(platform)}` : '';
  return { id: `metadata:${full}${on}`, name: `[internal] load metadata for ${full}` };
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
