import type { StateOwners } from '../cache/state-owners.js';
import type { ContentStore } from '../store/content-store.js';
import type { StatePaths } from '../store/state-paths.js';

/**
 * The modules GC asks about their records (cache/state-owners.ts), opened on a state dir. Loaded
 * only when GC runs: a build that stays under the cache cap never needs them.
 */
export async function stateOwners(paths: StatePaths, store: ContentStore): Promise<StateOwners> {
  const [{ TagPins }, { BlobSources }, { HttpDownloads }] = await Promise.all([
    import('../registry/tag-pins.js'),
    import('../registry/blob-sources.js'),
    import('../sources/http-download.js'),
  ]);
  return {
    tagPins: new TagPins(paths.resolvedTags),
    blobSources: new BlobSources(paths.blobSources),
    downloads: new HttpDownloads(paths.httpDownloads, store),
  };
}
