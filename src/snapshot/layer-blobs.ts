import type { ContentStore } from '../cache/content-store.js';
import { createLayerBlob } from '../image/layer-blob.js';
import { writeLayerTar } from './layer-tar.js';
import type { LayerBlobRecord, SnapshotStore } from './snapshot-store.js';

/**
 * The OCI blob of a snapshot, made the first time an exporter needs it and recorded in the
 * snapshot's layer.json so it is never made twice. A step that changed nothing still gets its
 * (empty) layer, as BuildKit's images have. `below` is the chain under it (bottom first):
 * directories that overlay copied up unchanged are left out of the tar by comparing with it.
 */
export async function ensureLayerBlob(snapshots: SnapshotStore, store: ContentStore, id: string, below: string[]): Promise<LayerBlobRecord> {
  const existing = await snapshots.readBlob(id);
  if (existing && (existing.empty || (await store.has(existing.digest)))) return existing;
  const layerDir = snapshots.fsDir(id);
  const lowerDirs = below.map((b) => snapshots.fsDir(b)).reverse();
  const blob = await createLayerBlob((out) => writeLayerTar(layerDir, out, { lowerDirs }), store);
  const rec: LayerBlobRecord = { digest: blob.digest, diffId: blob.diffId, size: blob.size, mediaType: blob.mediaType };
  await snapshots.writeBlob(id, rec);
  return rec;
}
