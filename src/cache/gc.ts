import { statSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SnapshotStore } from '../snapshot/snapshot-store.js';
import type { Descriptor, ImageIndex, ImageManifest } from '../image/types.js';
import type { CacheRecords } from './cache-records.js';
import type { ContentStore } from '../store/content-store.js';
import { selectionFile } from './selection-files.js';
import { isBaseLayer } from '../snapshot/layer-blobs.js';
import { encodedBlobsOf } from '../snapshot/layer-encodings.js';
import { duSync } from '../snapshot/snapshot-store.js';
import type { StatePaths } from '../store/state-paths.js';
import type { StateOwners } from './state-owners.js';

/**
 * What the state directory holds, and garbage collection of the build cache.
 *
 * The unit of eviction is a snapshot (a layer directory), with the blobs only it references
 * (its layer encodings, unless a tagged image uses them). A snapshot's last use is the
 * newest last use (mtime) of the cache records whose layer chain contains it, so a base layer
 * shared by many steps goes only after all of them. Evicting a snapshot deletes the records
 * that name it (a chain with a hole is useless). Blobs that nothing references (manifests and
 * configs of untagged builds, blobs of evicted snapshots) go first. Images tagged in
 * content/index.json are never touched: they are the user's, not cache. Blobs other modules'
 * records name (base image pins, ADD's downloads) are theirs to tell (StateParts.owners).
 *
 * Every function here that deletes must run under the exclusive state lock.
 */
export interface StateParts {
  paths: StatePaths;
  store: ContentStore;
  snapshots: SnapshotStore;
  records: CacheRecords;
  /** The owners of the other records that name blobs (see state-owners.ts). */
  owners: StateOwners;
}

interface SnapshotInfo {
  id: string;
  bytes: number;
  lastUsed: number;
  /** Highest position in any record's chain: upper layers go before the ones they sit on. */
  height: number;
  /** Blobs only this snapshot references (not tagged). */
  blobs: { digest: string; size: number }[];
}

interface Inventory {
  snapshots: SnapshotInfo[];
  records: Awaited<ReturnType<CacheRecords['list']>>;
  tagged: Set<string>;
  taggedBytes: number;
  pinnedBytes: number;
  pinnedCount: number;
  /** Blobs ADD's URL records hold, with their sizes. */
  downloads: { digest: string; size: number }[];
  unreferenced: { digest: string; size: number }[];
  blobBytes: Map<string, number>;
}

/** Every blob an image needs (manifests, configs, nested indexes, and layers unless told not to). */
async function imageBlobs(
  store: ContentStore,
  roots: Descriptor[],
  withLayers: boolean,
  out = new Set<string>(),
): Promise<Set<string>> {
  const visit = async (d: Descriptor, depth: number): Promise<void> => {
    if (out.has(d.digest) || depth > 4) return;
    out.add(d.digest);
    let doc: ImageIndex & ImageManifest;
    try {
      doc = await store.readJson(d.digest);
    } catch {
      return;
    }
    for (const m of doc.manifests ?? []) await visit(m, depth + 1);
    if (doc.config) out.add(doc.config.digest);
    if (withLayers) for (const l of doc.layers ?? []) out.add(l.digest);
  };
  for (const d of roots) await visit(d, 0);
  return out;
}

/** Every blob a tagged image in index.json needs: never removed. */
export async function taggedBlobs(store: ContentStore): Promise<Set<string>> {
  return imageBlobs(store, (await store.readIndex()).manifests, true);
}

/**
 * Manifests and configs of base images whose tag the registry client pinned: kept so a cached
 * build can resolve its FROM without the network. Their layer blobs go with the base layer
 * snapshots that reference them.
 */
async function pinnedBaseBlobs(store: ContentStore, owners: StateOwners): Promise<Set<string>> {
  const roots: Descriptor[] = (await owners.tagPins.pinnedManifests())
    .filter((digest) => /^sha256:[a-f0-9]{64}$/.test(digest))
    .map((digest) => ({ mediaType: '', digest: digest as Descriptor['digest'], size: 0 }));
  return imageBlobs(store, roots, false);
}

async function inventory(parts: StateParts): Promise<Inventory> {
  const { store, snapshots, records } = parts;
  const tagged = await taggedBlobs(store);
  const pinned = await pinnedBaseBlobs(store, parts.owners);
  const held = await parts.owners.downloads.heldBlobs();
  const blobs = store.listBlobsSync();
  const blobBytes = new Map(blobs.map((b) => [b.digest as string, b.size]));
  const recs = records.listSync();
  const used = new Map<string, { lastUsed: number; height: number }>();
  for (const r of recs) {
    r.record.layers.forEach((id, i) => {
      const u = used.get(id);
      used.set(id, { lastUsed: Math.max(u?.lastUsed ?? 0, r.lastUsed), height: Math.max(u?.height ?? 0, i) });
    });
  }
  const ids = snapshots.listSync();
  const refCount = new Map<string, number>();
  const encodingsOf = new Map<string, string[]>();
  for (const id of ids) {
    const digests = encodedBlobsOf(snapshots, id);
    encodingsOf.set(id, digests);
    for (const d of digests) refCount.set(d, (refCount.get(d) ?? 0) + 1);
  }
  const infos: SnapshotInfo[] = [];
  for (const id of ids) {
    const u = used.get(id);
    const own = (encodingsOf.get(id) ?? []).filter(
      (d) => !tagged.has(d) && !held.has(d) && refCount.get(d) === 1 && blobBytes.has(d),
    );
    infos.push({
      id,
      bytes: await snapshots.diskUsage(id),
      lastUsed: u ? u.lastUsed : (statSync(snapshots.dir(id), { throwIfNoEntry: false })?.mtimeMs ?? 0),
      height: u?.height ?? 0,
      blobs: own.map((d) => ({ digest: d, size: blobBytes.get(d)! })),
    });
  }
  const unreferenced = blobs.filter(
    (b) => !tagged.has(b.digest) && !refCount.has(b.digest) && !pinned.has(b.digest) && !held.has(b.digest),
  );
  const taggedBytes = blobs.filter((b) => tagged.has(b.digest)).reduce((n, b) => n + b.size, 0);
  const pinnedOnly = blobs.filter((b) => pinned.has(b.digest) && !tagged.has(b.digest) && !refCount.has(b.digest));
  // a download that is also a tagged image's or a snapshot's blob is counted there
  const downloads = blobs.filter(
    (b) => held.has(b.digest) && !tagged.has(b.digest) && !refCount.has(b.digest) && !pinned.has(b.digest),
  );
  return {
    snapshots: infos,
    records: recs,
    tagged,
    taggedBytes,
    unreferenced,
    blobBytes,
    pinnedBytes: pinnedOnly.reduce((n, b) => n + b.size, 0),
    pinnedCount: pinnedOnly.length,
    downloads,
  };
}

export interface UsageRow {
  kind: string;
  items: number;
  bytes: number;
  /** Whether `tsbuild prune --all` would free it. */
  reclaimable: boolean;
}

async function dirUsage(dir: string): Promise<{ items: number; bytes: number }> {
  let items = 0;
  for (const n of await readdir(dir).catch(() => [] as string[])) if (!n.startsWith('.')) items++;
  return { items, bytes: duSync(dir) };
}

/** `tsbuild du`: the state directory by kind. */
export async function diskUsage(parts: StateParts): Promise<UsageRow[]> {
  const inv = await inventory(parts);
  const steps = inv.snapshots.filter((s) => !isBaseLayer(s.id));
  const bases = inv.snapshots.filter((s) => isBaseLayer(s.id));
  const sum = (xs: { bytes: number }[]): number => xs.reduce((n, x) => n + x.bytes, 0);
  const layerBlobs = inv.snapshots.flatMap((s) => s.blobs);
  const { paths } = parts;
  const recordBytes = inv.records.reduce((n, r) => n + r.bytes, 0);
  const [history, files, statCaches, mounts, urlRecords, tmp, ...others] = await Promise.all([
    dirUsage(paths.stepIndexes),
    dirUsage(paths.selectionFiles),
    dirUsage(paths.statCaches),
    dirUsage(paths.cacheMounts),
    dirUsage(paths.httpDownloads),
    dirUsage(paths.tmpRoot),
    ...[paths.blobSources, paths.blobVariants, paths.resolvedTags, paths.locks].map(dirUsage),
  ]);
  const [sources, variants, ...pins] = others as [
    { items: number; bytes: number },
    { items: number; bytes: number },
    ...{ items: number; bytes: number }[],
  ];
  return [
    { kind: 'step layers (snapshots)', items: steps.length, bytes: sum(steps), reclaimable: true },
    { kind: 'base image layers (snapshots)', items: bases.length, bytes: sum(bases), reclaimable: true },
    {
      kind: 'layer blobs (cache)',
      items: layerBlobs.length,
      bytes: layerBlobs.reduce((n, b) => n + b.size, 0),
      reclaimable: true,
    },
    {
      kind: 'unreferenced blobs',
      items: inv.unreferenced.length,
      bytes: inv.unreferenced.reduce((n, b) => n + b.size, 0),
      reclaimable: true,
    },
    { kind: 'tagged images (blobs)', items: inv.tagged.size, bytes: inv.taggedBytes, reclaimable: false },
    { kind: 'base image manifests and configs', items: inv.pinnedCount, bytes: inv.pinnedBytes, reclaimable: false },
    { kind: 'cache records', items: inv.records.length, bytes: recordBytes, reclaimable: true },
    {
      kind: 'step history and file lists',
      items: history.items + files.items,
      bytes: history.bytes + files.bytes,
      reclaimable: true,
    },
    { kind: 'stat caches', items: statCaches.items, bytes: statCaches.bytes, reclaimable: true },
    { kind: 'RUN cache mounts', items: mounts.items, bytes: mounts.bytes, reclaimable: true },
    {
      kind: 'ADD downloads (http cache)',
      items: inv.downloads.length,
      bytes: inv.downloads.reduce((n, b) => n + b.size, 0) + urlRecords.bytes,
      reclaimable: true,
    },
    { kind: 'temporary (running builds)', items: tmp.items, bytes: tmp.bytes, reclaimable: false },
    {
      kind: 'registry mount hints and blob encodings',
      items: sources.items + variants.items,
      bytes: sources.bytes + variants.bytes,
      reclaimable: true,
    },
    {
      kind: 'base image tag pins and locks',
      items: pins.reduce((n, o) => n + o.items, 0),
      bytes: pins.reduce((n, o) => n + o.bytes, 0),
      reclaimable: false,
    },
  ];
}

export interface PruneOptions {
  /** Everything that is cache: every snapshot, record, history, stat cache and cache mount. */
  all?: boolean;
  /** Evict least recently used snapshots until the cache takes at most this many bytes. */
  keepBytes?: number;
  /** Evict what was not used in this many milliseconds. */
  olderThanMs?: number;
  now?: number;
}

export interface PruneReport {
  snapshots: number;
  records: number;
  blobs: number;
  bytes: number;
}

/** The size GC counts against a cap: everything but tagged images and running builds' scratch. */
function cacheBytes(inv: Inventory): number {
  return (
    inv.snapshots.reduce((n, s) => n + s.bytes + s.blobs.reduce((m, b) => m + b.size, 0), 0) +
    inv.unreferenced.reduce((n, b) => n + b.size, 0)
  );
}

export async function cacheSize(parts: StateParts): Promise<number> {
  return cacheBytes(await inventory(parts));
}

/**
 * Deletes cache by policy (see the module comment). Without any option it removes only garbage:
 * unreferenced blobs and records whose layers are gone. Call under the exclusive lock.
 */
export async function prune(parts: StateParts, opts: PruneOptions = {}): Promise<PruneReport> {
  const { store, snapshots, records, paths } = parts;
  const now = opts.now ?? Date.now();
  // ADD's download cache: forgotten first, so its blobs go below as garbage; a later build asks
  // the server again (or trusts --checksum's blob while it lasts).
  if (opts.all) await parts.owners.downloads.forgetAll();
  const inv = await inventory(parts);
  const report: PruneReport = { snapshots: 0, records: 0, blobs: 0, bytes: 0 };

  for (const b of inv.unreferenced) {
    await store.removeBlob(b.digest);
    report.blobs++;
    report.bytes += b.size;
  }
  let total = cacheBytes(inv) - report.bytes;

  const order = [...inv.snapshots].sort((a, b) => a.lastUsed - b.lastUsed || b.height - a.height);
  const evicted = new Set<string>();
  for (const s of order) {
    const old = opts.olderThanMs !== undefined && s.lastUsed < now - opts.olderThanMs;
    const over = opts.keepBytes !== undefined && total > opts.keepBytes;
    if (!opts.all && !old && !over) continue;
    await snapshots.remove(s.id);
    for (const b of s.blobs) await store.removeBlob(b.digest);
    const freed = s.bytes + s.blobs.reduce((n, b) => n + b.size, 0);
    total -= freed;
    report.bytes += freed;
    report.snapshots++;
    report.blobs += s.blobs.length;
    evicted.add(s.id);
  }

  const present = new Set(await snapshots.list());
  for (const r of inv.records) {
    if (r.record.layers.every((id) => present.has(id)) && !opts.all) continue;
    await records.remove(r.record.key);
    const content = (r.record.keyInputs as { content?: string[] } | undefined)?.content ?? [];
    for (const d of content) await rm(selectionFile(paths.cacheRecords, d), { force: true });
    report.records++;
    report.bytes += r.bytes;
  }

  // Registry mount hints: a note whose blob has left the store is useless; with --all every note goes.
  report.records += await parts.owners.blobSources.prune({ all: opts.all === true, has: (d) => store.has(d) });
  // Layer encodings are the snapshotter's index (blob-variants/ held them before it); with --all
  // every snapshot went above, its encodings with it.
  report.records += await snapshots.encodings.prune((d) => store.has(d), paths.blobVariants);
  await records.sweepLocks();

  if (opts.all) {
    // The step history stays (a few KB): the next build can still say its cache was pruned.
    for (const d of [paths.selectionFiles, paths.statCaches]) await rm(d, { recursive: true, force: true });
    await rm(paths.cacheMounts, { recursive: true, force: true });
  } else if (opts.olderThanMs !== undefined) {
    for (const dir of [paths.stepIndexes, paths.statCaches]) {
      for (const n of await readdir(dir).catch(() => [] as string[])) {
        const st = await stat(join(dir, n)).catch(() => undefined);
        if (st && st.mtimeMs < now - opts.olderThanMs) await rm(join(dir, n), { force: true });
      }
    }
  }
  return report;
}
