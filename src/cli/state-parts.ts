import { CacheRecords } from '../cache/cache-records.js';
import { ContentStore } from '../store/content-store.js';
import type { StateParts } from '../cache/gc.js';
import type { StatePaths } from '../store/state-paths.js';
import { SnapshotStore } from '../snapshot/snapshot-store.js';
import { stateOwners } from '../pipeline/state-owners.js';

/** The stores of a state directory, for the subcommands that look at all of it (du, prune). */
export async function openStateParts(paths: StatePaths): Promise<StateParts> {
  const store = new ContentStore(paths.content);
  return {
    paths,
    store,
    snapshots: new SnapshotStore(paths.snapshots),
    records: new CacheRecords(paths.cacheRecords),
    owners: await stateOwners(paths, store),
  };
}
