import type { BaseImageResolver, ResolvedBase } from '../../src/frontend/build-plan.js';
import { hostPlatform } from '../../src/frontend/platform.js';
import type { DiffId, Digest } from '../../src/image/types.js';

/**
 * A base-image resolver for frontend tests: every reference resolves to one image of one gzip
 * layer, on the host's architecture, without a registry. `more` replaces fields of the result.
 */
export function fakeBaseResolver(more: Partial<Omit<ResolvedBase, 'vertexOp'>> = {}): BaseImageResolver {
  return async (ref) => ({
    vertexOp: {
      type: 'image',
      ref,
      manifestDigest: `sha256:${'a'.repeat(64)}`,
      layers: [
        {
          descriptor: {
            mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
            digest: `sha256:${'b'.repeat(64)}` as Digest,
            size: 1,
          },
          diffId: `sha256:${'c'.repeat(64)}` as DiffId,
        },
      ],
      origin: { kind: 'registry', ref },
    },
    architecture: hostPlatform().architecture,
    os: 'linux',
    config: { Env: ['PATH=/bin'] },
    history: [{ created_by: 'base' }],
    ...more,
  });
}
