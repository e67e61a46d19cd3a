import { readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { compressionOfMediaType, type LayerCompression } from '../image/layer-compression.js';
import { writeFileAtomic } from '../store/atomic-write.js';
import { snapshotKind } from './snapshot-id.js';
import type { SnapshotStore } from './snapshot-store.js';

/**
 * One blob of a snapshot's layer. Equal (compression, level, epoch) of a layer made here give
 * equal bytes (the compressors are reproducible), so each is made once and looked up after.
 */
export interface LayerEncoding {
  digest: string;
  size: number;
  mediaType: string;
  /** The tar's digest: the snapshot's diffID, or for an `epoch` encoding that of the re-dated tar. */
  diffId: string;
  /** Absent only for a received blob whose media type names no compression we know: it serves only `any`. */
  compression?: LayerCompression;
  /** The level it was compressed at when asked for one; absent: the compressor's default (or unknown, if `received`). */
  level?: number;
  /** SOURCE_DATE_EPOCH its mtimes were clamped to; absent: the layer as committed. */
  epoch?: number;
  /** Came in as it is (a pulled base layer, an imported cache's blob): made elsewhere, its settings unknown. */
  received?: true;
}

/** Every encoding of one snapshot's layer: `snapshots/<id>/encodings.json`. */
export interface SnapshotEncodings {
  /** The layer as committed (absent while only `epoch` encodings exist). */
  diffId?: string;
  encodings: LayerEncoding[];
}

const FILE = 'encodings.json';
/**
 * The previous version's record (`{digest, diffId, size, mediaType, variants?}`), still read
 * when a snapshot has no encodings.json: a pulled base layer's record is the only place that
 * names the blob it came in, so treating it as absent would leave that layer unexportable.
 */
const LEGACY_FILE = 'layer.json';

interface LegacyRecord {
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
  variants?: { digest: string; size: number; mediaType: string }[];
}

/**
 * The index of layer encodings, one file per snapshot inside its directory, so it goes when
 * the snapshot goes. A record only names blobs: one whose blob left the store is ignored (and
 * made again), and pruned by GC.
 */
export class LayerEncodings {
  /** Read-modify-writes of one snapshot's record in this process, in order (concurrent outputs add encodings). */
  private readonly writing = new Map<string, Promise<unknown>>();

  constructor(private readonly snapshots: SnapshotStore) {}

  /** The record of snapshot `id`, undefined when it has none (or an unreadable one). */
  of(id: string): SnapshotEncodings | undefined {
    return readEncodings(this.snapshots.dir(id), id);
  }

  /** Adds (or replaces, by digest) encodings of snapshot `id`; `diffId` is the layer as committed. */
  add(id: string, made: LayerEncoding[], diffId?: string): Promise<SnapshotEncodings> {
    const prev = this.writing.get(id) ?? Promise.resolve();
    const next = prev
      .catch(() => {})
      .then(async () => {
        const old = this.of(id) ?? { encodings: [] };
        const digests = new Set(made.map((e) => e.digest));
        const committed = old.diffId ?? diffId;
        const rec: SnapshotEncodings = {
          ...(committed ? { diffId: committed } : {}),
          encodings: [...old.encodings.filter((e) => !digests.has(e.digest)), ...made],
        };
        // No fsync: it names blobs that were fsynced before it; lost, the encodings are made again.
        await writeFileAtomic(join(this.snapshots.dir(id), FILE), JSON.stringify(rec), { sync: false });
        await rm(join(this.snapshots.dir(id), LEGACY_FILE), { force: true });
        return rec;
      });
    const tracked = next.finally(() => {
      if (this.writing.get(id) === tracked) this.writing.delete(id);
    });
    // the caller sees a failure through `next`; this copy only orders the next write
    tracked.catch(() => {});
    this.writing.set(id, tracked);
    return next;
  }

  /**
   * Drops the encodings whose blob left the store, and the previous version's `blob-variants`
   * records (`legacyDir`: they named re-encodings this index now holds). Returns how many
   * records went. Call under the exclusive state lock.
   */
  async prune(hasBlob: (digest: string) => Promise<boolean>, legacyDir?: string): Promise<number> {
    let removed = 0;
    for (const id of await this.snapshots.list()) {
      const rec = this.of(id);
      if (!rec) continue;
      const kept: LayerEncoding[] = [];
      // A received blob cannot be made again from the snapshot: its entry stays, so the error
      // that the layer cannot be exported names the blob that is missing.
      for (const e of rec.encodings) if (e.received || (await hasBlob(e.digest))) kept.push(e);
      if (kept.length === rec.encodings.length) continue;
      removed += rec.encodings.length - kept.length;
      await writeFileAtomic(join(this.snapshots.dir(id), FILE), JSON.stringify({ ...rec, encodings: kept }), {
        sync: false,
      });
      await rm(join(this.snapshots.dir(id), LEGACY_FILE), { force: true });
    }
    if (legacyDir) {
      for (const n of await readdir(legacyDir).catch(() => [] as string[])) if (!n.startsWith('.')) removed++;
      await rm(legacyDir, { recursive: true, force: true });
    }
    return removed;
  }
}

/** Every blob digest the record of snapshot `id` names. Synchronous: GC reads thousands at once. */
export function encodedBlobsOf(snapshots: SnapshotStore, id: string): string[] {
  return (readEncodings(snapshots.dir(id), id)?.encodings ?? []).map((e) => e.digest);
}

/**
 * Writes the first record of a snapshot into its pending directory, so it is committed with the
 * snapshot (a pulled base layer must never exist without the name of its blob).
 */
export async function recordPendingEncodings(pendingRoot: string, rec: SnapshotEncodings): Promise<void> {
  await writeFileAtomic(join(pendingRoot, FILE), JSON.stringify(rec), { sync: false });
}

function readEncodings(dir: string, id: string): SnapshotEncodings | undefined {
  const current = readJson<SnapshotEncodings>(join(dir, FILE));
  if (current && Array.isArray(current.encodings)) return current;
  const legacy = readJson<LegacyRecord>(join(dir, LEGACY_FILE));
  return legacy && typeof legacy.digest === 'string' ? fromLegacy(legacy, id) : undefined;
}

/**
 * A layer.json as this index: its first blob is the layer's first encoding (for a base layer the
 * blob it was pulled as, else one made here at the default level), `variants` later default-level ones.
 */
export function fromLegacy(rec: LegacyRecord, id: string): SnapshotEncodings {
  const encoding = (b: { digest: string; size: number; mediaType: string }, received: boolean): LayerEncoding =>
    receivedOrMade(b, rec.diffId, received);
  return {
    diffId: rec.diffId,
    encodings: [encoding(rec, snapshotKind(id) === 'base'), ...(rec.variants ?? []).map((v) => encoding(v, false))],
  };
}

/** An encoding at the default level (made here) or as it came in (`received`), its compression from its media type. */
export function receivedOrMade(
  b: { digest: string; size: number; mediaType: string },
  diffId: string,
  received: boolean,
): LayerEncoding {
  const compression = compressionOfMediaType(b.mediaType);
  return {
    digest: b.digest,
    size: b.size,
    mediaType: b.mediaType,
    diffId,
    ...(compression ? { compression } : {}),
    ...(received ? { received: true as const } : {}),
  };
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
