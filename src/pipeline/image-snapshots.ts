import { UserError } from '../errors.js';
import { decompressStream } from '../image/decompress.js';
import type { Descriptor } from '../image/types.js';
import { baseLayerSnapshotId, snapshotKind } from '../snapshot/snapshot-id.js';
import type { SnapshotStore } from '../snapshot/snapshot-store.js';
import { unpackLayer } from '../snapshot/unpack.js';
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
    await snapshotFromBlob(snapshots, store, base, layer);
    unpacked++;
    ids.push(base);
  }
  return { ids, unpacked };
}

/** Snapshots that builds made, by the diff ID their layer record names (made when a layer blob was). */
async function builtSnapshotsByDiffId(snapshots: SnapshotStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const names = (await snapshots.list()).filter((n) => snapshotKind(n) === 'step');
  const records = await Promise.all(names.map((n) => snapshots.readBlob(n)));
  names.forEach((n, i) => {
    const diffId = records[i]?.diffId;
    if (diffId && !out.has(diffId)) out.set(diffId, n);
  });
  return out;
}

/**
 * THE one place `tsbuild run` turns a stored layer blob into a snapshot. It does what the
 * solver's base-image op does for a pulled layer (solver/ops/run-image.ts, ensureLayer), which is
 * being moved into a snapshot-from-blob function in src/snapshot/; once that lands, this body
 * becomes a call to it.
 */
async function snapshotFromBlob(
  snapshots: SnapshotStore,
  store: ContentStore,
  id: string,
  layer: { descriptor: Descriptor; diffId: string },
): Promise<void> {
  if (!(await store.has(layer.descriptor.digest)))
    throw new UserError(`layer ${layer.descriptor.digest} of the image is not in the state directory's store`, {
      hint: 'build, pull or load the image again',
    });
  await snapshots.create(id, async (pending) => {
    await unpackLayer(decompressStream(store.openRead(layer.descriptor.digest)), pending.fs);
    return {
      digest: layer.descriptor.digest,
      diffId: layer.diffId,
      size: layer.descriptor.size,
      mediaType: layer.descriptor.mediaType,
    };
  });
}
