/**
 * `--cache-to`: writes the records of the steps this build reached, with their layers, as the
 * cache manifest of ../cache-manifest.ts, through the backend its type names (backends.ts).
 */
import type { CacheRecord, CacheRecords } from '../cache-records.js';
import { CACHE_CONFIG_MEDIA_TYPE, type CacheConfig, type CacheLayerBlob } from '../cache-manifest.js';
import { withPrefix } from '../../errors.js';
import type { LayerCompression } from '../../image/compress.js';
import { MediaType, type Descriptor } from '../../image/types.js';
import { ensureLayerBlob, isBaseLayer } from '../../snapshot/layer-blobs.js';
import type { SnapshotStore } from '../../snapshot/snapshot-store.js';
import { type CacheExportSpec, remoteCacheFor } from './backends.js';
import type { CacheEvent, RemoteCacheContext } from './remote-cache.js';

export interface CacheExportDeps extends RemoteCacheContext {
  snapshots: SnapshotStore;
  records: CacheRecords;
  /** Keys of the steps the build reached. */
  keys: string[];
  /** Each final image's layers (one per platform): `mode=min` exports only the steps whose result is a part of one. */
  finalLayers: string[][];
  emit: (event: CacheEvent) => void;
}

export async function exportCaches(specs: CacheExportSpec[], deps: CacheExportDeps): Promise<void> {
  const all = await exportableRecords(deps);
  for (const spec of specs) {
    const backend = remoteCacheFor(spec.type);
    if (!backend) throw new Error(`no cache backend of type ${spec.type}`);
    const where = backend.describeTo(spec);
    const started = Date.now();
    const message = `exporting cache to ${where}`;
    deps.emit({ type: 'status', time: started, message });
    try {
      const records =
        spec.mode === 'min' ? all.filter((r) => deps.finalLayers.some((f) => isPrefix(r.layers, f))) : all;
      const manifest = await writeCacheManifest(records, spec.compression ?? 'gzip', deps);
      const note = await backend.write(spec, manifest.descriptor, deps);
      deps.emit({
        type: 'status',
        time: Date.now(),
        message: `${message} (${records.length} steps, ${manifest.layers} layers${note ? `, ${note}` : ''})`,
        done: true,
        durationMs: Date.now() - started,
      });
    } catch (err) {
      if (!spec.ignoreError || deps.signal?.aborted) throw withPrefix(err, `cannot export the cache to ${where}: `);
      deps.emit({
        type: 'warning',
        time: Date.now(),
        message: `cannot export the cache to ${where} (ignore-error=true): ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
}

/** The local records of the reached steps whose own layers are all still here (pulled base layers are not exported: the FROM has them). */
async function exportableRecords(deps: CacheExportDeps): Promise<CacheRecord[]> {
  const found = await Promise.all([...new Set(deps.keys)].map((k) => deps.records.get(k)));
  const out: CacheRecord[] = [];
  for (const rec of found) {
    if (!rec) continue;
    const own = rec.layers.filter((id) => !isBaseLayer(id));
    if ((await Promise.all(own.map((id) => deps.snapshots.exists(id)))).every(Boolean)) out.push(rec);
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function isPrefix(layers: string[], of: string[]): boolean {
  return layers.length <= of.length && layers.every((id, i) => of[i] === id);
}

/** Puts the cache config and manifest into the store; the layer blobs are made in the wanted encoding where missing. */
async function writeCacheManifest(
  records: CacheRecord[],
  compression: LayerCompression,
  deps: CacheExportDeps,
): Promise<{ descriptor: Descriptor; layers: number }> {
  const below = new Map<string, string[]>();
  for (const r of records)
    r.layers.forEach((id, i) => {
      if (!isBaseLayer(id) && !below.has(id)) below.set(id, r.layers.slice(0, i));
    });
  const ids = [...below.keys()].sort();
  const blobs = await Promise.all(
    ids.map((id) => ensureLayerBlob(deps.snapshots, deps.store, id, below.get(id)!, compression)),
  );
  const layers: Record<string, CacheLayerBlob> = {};
  const descriptors = new Map<string, Descriptor>();
  ids.forEach((id, i) => {
    const b = blobs[i]!;
    layers[id] = { mediaType: b.mediaType, digest: b.digest, size: b.size, diffId: b.diffId };
    descriptors.set(b.digest, { mediaType: b.mediaType, digest: b.digest as Descriptor['digest'], size: b.size });
  });
  const config: CacheConfig = {
    version: 1,
    records: records.map((r) => ({
      key: r.key,
      layers: r.layers,
      createdAt: r.createdAt,
      description: r.description,
      ...(r.inputTops ? { inputTops: r.inputTops } : {}),
    })),
    layers,
  };
  const configDesc = await deps.store.put(JSON.stringify(config), CACHE_CONFIG_MEDIA_TYPE);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDesc,
    layers: [...descriptors.values()],
  };
  return {
    descriptor: await deps.store.put(JSON.stringify(manifest), MediaType.ociManifest),
    layers: descriptors.size,
  };
}
