import { randomBytes } from 'node:crypto';

/**
 * A snapshot's name: its directory under snapshots/. The names are on disk in every state
 * directory (and in exported cache records), so their spelling never changes: a first letter
 * for the kind, then 19 hex characters, 20 in all, which keep ~150 layers inside overlay's
 * one-page mount option limit.
 */
export type SnapshotId = string & { readonly __brand: 'SnapshotId' };

/** A pulled base layer (its blob is the one it came in) or a layer a step made. */
export type SnapshotKind = 'base' | 'step';

const BASE_PREFIX = 'l';
const STEP_PREFIX = 's';
const LINKED_PREFIX = 'k';

/** Pulled layers are shared by every image that has them: their id comes from the diff id. */
export function baseLayerSnapshotId(diffId: string): SnapshotId {
  return `${BASE_PREFIX}${diffId.replace(/^sha256:/, '').slice(0, 19)}` as SnapshotId;
}

/** A step's layer is named after its cache key. */
export function stepSnapshotId(key: string): SnapshotId {
  return `${STEP_PREFIX}${key.slice(0, 19)}` as SnapshotId;
}

/** The layer of a run whose key already has one (--no-cache, new input results): the key's prefix and a random part, same length. */
export function freshStepSnapshotId(key: string): SnapshotId {
  return `${STEP_PREFIX}${key.slice(0, 11)}${randomBytes(4).toString('hex')}` as SnapshotId;
}

/** A COPY --link layer, named after what it holds (not the chain under it), so any base shares it. */
export function linkedSnapshotId(key: string): SnapshotId {
  return `${LINKED_PREFIX}${key.slice(0, 19)}` as SnapshotId;
}

/** A name read back from the snapshot directory or a cache record: taken as it is. */
export function asSnapshotId(name: string): SnapshotId {
  return name as SnapshotId;
}

export function snapshotKind(id: string): SnapshotKind {
  return id.startsWith(BASE_PREFIX) ? 'base' : 'step';
}
