import type { ImageLayer, ImageSourceOp } from '../graph.js';
import type { VertexResult } from './op-context.js';

/** Pulled layers are shared by every image that has them: their snapshot id comes from the diff id. */
export function baseLayerSnapshotId(layer: ImageLayer): string {
  return `l${layer.diffId.replace(/^sha256:/, '').slice(0, 19)}`;
}

/** The snapshot ids of a base image (kept apart from run-image.ts so a cached build never loads the unpacker). */
export function imageLayers(op: ImageSourceOp): VertexResult {
  return { layers: op.layers.map(baseLayerSnapshotId) };
}
