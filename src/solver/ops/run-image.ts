import { baseLayerSnapshotId } from '../../snapshot/snapshot-id.js';
import { imageLayers } from './image-layers.js';
import { snapshotFromBlob } from '../../snapshot/snapshot-from-blob.js';
import type { ImageLayer, ImageSourceOp } from '../graph.js';
import type { SolveContext, VertexResult } from './op-context.js';

export { imageLayers };

async function ensureLayer(ctx: SolveContext, op: ImageSourceOp, layer: ImageLayer): Promise<void> {
  const id = baseLayerSnapshotId(layer.diffId);
  if (await ctx.snapshots.exists(id)) return;
  await ctx.fetchBlob(op.origin, layer.descriptor);
  await snapshotFromBlob(
    ctx.snapshots,
    ctx.store,
    id,
    { ...layer.descriptor, diffId: layer.diffId },
    ctx.idMapping ? { idMapping: ctx.idMapping } : {},
  );
}

/** Makes every layer of a base image available as a snapshot (pull + unpack what is missing). */
export async function runImage(op: ImageSourceOp, ctx: SolveContext): Promise<VertexResult> {
  await Promise.all(op.layers.map((l) => ensureLayer(ctx, op, l)));
  return imageLayers(op);
}
