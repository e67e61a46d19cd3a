import { UserError } from '../errors.js';
import type { Descriptor } from '../image/types.js';
import { baseLayerSnapshotId, snapshotKind } from '../snapshot/snapshot-id.js';
import type { SnapshotStore } from '../snapshot/snapshot-store.js';
import { snapshotFromBlob } from '../snapshot/snapshot-from-blob.js';
import type { ContentStore } from '../store/content-store.js';

/**
 * The snapshots of a stored image's layers, bottom first, made where missing. A layer is found
 * as a pulled layer's snapshot (named after its diff ID), else as a snapshot a build made whose
 * layer record has that diff ID (an image built here), else it is unpacked from its blob in the
 * content store (a loaded image) into a snapshot named after its diff ID, which the next run
 * and any build over the same layer reuse.
 *
 * A build's snapshot is its step's overlay upper dir: besides the layer's content it may hold
 * directories overlay copied up unchanged from the chain it was made over. Over another chain
 * with the same layers below (what a matching image has) those are the same directories.
 */
export async function imageSnapshots(
  snapshots: SnapshotStore,
  store: ContentStore,
  layers: { descriptor: Descriptor; diffId: string }[],
): Promise<{ ids: string[]; unpacked: number }> {
  let built: Promise<Map<string, string>> | undefined;
  let unpacked = 0;
  const ids: string[] = [];
  for (const layer of layers) {
    const base = baseLayerSnapshotId(layer.diffId);
    if (await snapshots.exists(base)) {
      ids.push(base);
      continue;
    }
    const step = (await (built ??= builtSnapshotsByDiffId(snapshots))).get(layer.diffId);
    if (step && (await snapshots.exists(step))) {
      ids.push(step);
      continue;
    }
    await unpackStoredLayer(snapshots, store, base, layer);
    unpacked++;
    ids.push(base);
  }
  return { ids, unpacked };
}

/** Snapshots that builds made, by the diff ID of the layer as committed (their layer encodings index). */
async function builtSnapshotsByDiffId(snapshots: SnapshotStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const n of (await snapshots.list()).filter((id) => snapshotKind(id) === 'step')) {
    const diffId = snapshots.encodings.of(n)?.diffId;
    if (diffId && !out.has(diffId)) out.set(diffId, n);
  }
  return out;
}

/** A stored layer blob as a snapshot (the snapshotter's one way from a blob, as base images take it). */
async function unpackStoredLayer(
  snapshots: SnapshotStore,
  store: ContentStore,
  id: string,
  layer: { descriptor: Descriptor; diffId: string },
): Promise<void> {
  if (!(await store.has(layer.descriptor.digest)))
    throw new UserError(`layer ${layer.descriptor.digest} of the image is not in the state directory's store`, {
      hint: 'build, pull or load the image again',
    });
  const { digest, size, mediaType } = layer.descriptor;
  await snapshotFromBlob(snapshots, store, id, { digest, size, mediaType, diffId: layer.diffId });
}
