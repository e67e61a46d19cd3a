import type { ContentStore } from '../store/content-store.js';
import { UserError } from '../errors.js';
import type { Descriptor } from '../image/types.js';
import type { BlobSources } from '../registry/blob-sources.js';
import { Pusher, type PusherOptions, type PushStats } from '../registry/push.js';
import { parseReference, type ImageReference } from '../registry/reference.js';
import type { RegistrySession } from '../registry/session.js';
import { collectImageBlobs } from './image-blobs.js';

/**
 * `--push` / `--output type=image,name=…,push=true`: sends the image in the content store to
 * the registry of each name. Names without a registry go to Docker Hub, as with docker push.
 */
export async function pushImage(
  session: RegistrySession,
  store: ContentStore,
  manifest: Descriptor,
  names: string[],
  sources: BlobSources | undefined,
  opts: PusherOptions = {},
): Promise<PushStats> {
  if (names.length === 0)
    throw new UserError('nothing to push to: the image has no name', {
      hint: 'name it with -t REGISTRY/REPO:TAG, or name= in --output type=image',
    });
  const refs: ImageReference[] = names.map((n) => {
    const ref = parseReference(n).withDefaultTag();
    if (ref.digest) throw new UserError(`cannot push to ${n}: a name to push to cannot contain a digest`);
    return ref;
  });
  // a layer the build took without fetching it is fetched only if the registry lacks it
  const { blobs } = await collectImageBlobs(store, manifest, opts.fetchBlob ? { layersMayBeAbsent: true } : {});
  const manifests = blobs.filter((b) => b.digest === manifest.digest || /manifest|index/.test(b.mediaType));
  const others = blobs.filter((b) => !manifests.includes(b));
  // children first, the root (which the tags name) last
  const ordered = [...manifests.filter((m) => m.digest !== manifest.digest), manifest];
  const content = {
    blobs: others,
    manifests: await Promise.all(ordered.map(async (d) => ({ descriptor: d, bytes: await store.read(d.digest) }))),
  };
  return new Pusher(session, store, sources, opts).push(content, refs);
}
