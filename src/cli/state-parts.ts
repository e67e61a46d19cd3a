import { CacheRecords } from '../cache/cache-records.js';
import { ContentStore } from '../store/content-store.js';
import type { StateParts } from '../cache/gc.js';
import type { StatePaths } from '../store/state-paths.js';
import { SnapshotStore } from '../snapshot/snapshot-store.js';

/** The stores of a state directory, for the subcommands that look at all of it (du, prune). */
export function openStateParts(paths: StatePaths): StateParts {
  return {
    paths,
    store: new ContentStore(paths.content),
    snapshots: new SnapshotStore(paths.snapshots),
    records: new CacheRecords(paths.cacheRecords),
  };
}
