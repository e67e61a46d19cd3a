import { baseLayerSnapshotId } from '../../snapshot/snapshot-id.js';
import type { ImageSourceOp } from '../graph.js';
import type { VertexResult } from './op-context.js';

/** The snapshot ids of a base image (kept apart from run-image.ts so a cached build never loads the unpacker). */
export function imageLayers(op: ImageSourceOp): VertexResult {
  return { layers: op.layers.map((l) => baseLayerSnapshotId(l.diffId)) };
}
