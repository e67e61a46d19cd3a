/**
 * `--cache-from`: loads the caches `--cache-to` wrote (../cache-manifest.ts), through their
 * backends (backends.ts), and hands the solver their records; a layer is downloaded and unpacked
 * only when a step hits on it. A cache that cannot be read is a warning, never a failure: the build runs without it.
 */
import { CACHE_CONFIG_MEDIA_TYPE, parseCacheConfig, type CacheConfig, type CacheLayerBlob } from '../cache-manifest.js';
import type { Descriptor, Digest } from '../../image/types.js';
import type { SnapshotStore } from '../../snapshot/snapshot-store.js';
import { type CacheImportSpec, remoteCacheFor } from './backends.js';
import type { ImportedCache, ImportedRecord } from './imported-cache.js';
import type { CacheEvent, RemoteCacheContext } from './remote-cache.js';

export interface CacheImportDeps extends RemoteCacheContext {
  snapshots: SnapshotStore;
  emit: (event: CacheEvent) => void;
}

/** One readable cache: its config, and how to get one of its blobs into the store. */
interface LoadedCache {
  source: string;
  config: CacheConfig;
  fetchBlob(desc: Descriptor): Promise<void>;
  blobLooksWhole?(desc: Descriptor): Promise<boolean>;
}

export function describeCacheImport(spec: CacheImportSpec): string {
  return backendOf(spec).describeFrom(spec);
}

function backendOf(spec: CacheImportSpec) {
  const backend = remoteCacheFor(spec.type);
  if (!backend) throw new Error(`no cache backend of type ${spec.type}`);
  return backend;
}

/** Reads every --cache-from (in parallel); undefined when none could be read. */
export async function importCaches(
  specs: CacheImportSpec[],
  deps: CacheImportDeps,
): Promise<ImportedCache | undefined> {
  const started = Date.now();
  const message = `importing cache from ${specs.map(describeCacheImport).join(', ')}`;
  deps.emit({ type: 'status', time: started, message });
  const loaded = await Promise.all(
    specs.map((spec) =>
      loadCache(spec, deps).catch((err: unknown) => {
        if (deps.signal?.aborted) throw err;
        deps.emit({
          type: 'warning',
          time: Date.now(),
          message: `cannot import the cache from ${describeCacheImport(spec)}, building without it: ${err instanceof Error ? err.message : String(err)}`,
        });
        return undefined;
      }),
    ),
  );
  const caches = loaded.filter((c): c is LoadedCache => !!c);
  const steps = caches.reduce((n, c) => n + c.config.records.length, 0);
  deps.emit({
    type: 'status',
    time: Date.now(),
    message: `${message}: ${steps} step${steps === 1 ? '' : 's'}`,
    done: true,
    durationMs: Date.now() - started,
  });
  return caches.length ? new ImportedCaches(caches, deps) : undefined;
}

async function loadCache(spec: CacheImportSpec, deps: CacheImportDeps): Promise<LoadedCache> {
  const source = describeCacheImport(spec);
  const { manifest, fetchBlob, blobLooksWhole } = await backendOf(spec).read(spec, deps);
  if (manifest.config.mediaType !== CACHE_CONFIG_MEDIA_TYPE) {
    const buildkit = manifest.config.mediaType.startsWith('application/vnd.buildkit.cacheconfig');
    throw new Error(
      buildkit
        ? 'it is a BuildKit cache, which tsbuild cannot read'
        : `it is not a tsbuild cache (its config is ${manifest.config.mediaType})`,
    );
  }
  await fetchBlob(manifest.config);
  const config = parseCacheConfig(await deps.store.read(manifest.config.digest));
  // Every layer a record names must be one the manifest carries, or the cache is not what it says.
  const carried = new Set<string>(manifest.layers.map((l) => l.digest));
  for (const [id, blob] of Object.entries(config.layers)) {
    if (!carried.has(blob.digest))
      throw new Error(`layer ${id} names blob ${blob.digest}, which the cache manifest does not list`);
  }
  return { source, config, fetchBlob, ...(blobLooksWhole ? { blobLooksWhole } : {}) };
}

class ImportedCaches implements ImportedCache {
  private readonly records = new Map<string, ImportedRecord>();
  private readonly layers = new Map<string, { blob: CacheLayerBlob; cache: LoadedCache }>();
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(
    caches: LoadedCache[],
    private readonly deps: CacheImportDeps,
  ) {
    // The first --cache-from that has a key or layer wins.
    for (const cache of caches) {
      for (const r of cache.config.records)
        if (!this.records.has(r.key)) this.records.set(r.key, { ...r, source: cache.source });
      for (const [id, blob] of Object.entries(cache.config.layers))
        if (!this.layers.has(id)) this.layers.set(id, { blob, cache });
    }
  }

  record(key: string): ImportedRecord | undefined {
    return this.records.get(key);
  }

  hasLayer(id: string): boolean {
    return this.layers.has(id);
  }

  layerBlob(id: string): CacheLayerBlob | undefined {
    return this.layers.get(id)?.blob;
  }

  async layerLooksWhole(id: string): Promise<boolean> {
    const entry = this.layers.get(id);
    if (!entry) return false;
    const { blob, cache } = entry;
    if (!cache.blobLooksWhole) return true;
    return cache.blobLooksWhole({ mediaType: blob.mediaType, digest: blob.digest as Digest, size: blob.size });
  }

  async fetchLayerBlob(id: string): Promise<void> {
    const entry = this.layers.get(id);
    if (!entry) throw new Error(`the cache has no layer ${id}`);
    const { blob, cache } = entry;
    if (await this.deps.store.has(blob.digest)) return;
    await cache.fetchBlob({ mediaType: blob.mediaType, digest: blob.digest as Digest, size: blob.size });
  }

  materialize(id: string): Promise<void> {
    let p = this.inflight.get(id);
    if (!p) {
      p = this.unpack(id).finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
    }
    return p;
  }

  private async unpack(id: string): Promise<void> {
    const { snapshots, store } = this.deps;
    if (await snapshots.exists(id)) return;
    const entry = this.layers.get(id);
    if (!entry) throw new Error(`the cache has no layer ${id}`);
    const { blob } = entry;
    await this.fetchLayerBlob(id);
    const { snapshotFromBlob } = await import('../../snapshot/snapshot-from-blob.js');
    // The diffID is checked as the layer is unpacked: it is what the image config will claim.
    await snapshotFromBlob(snapshots, store, id, blob, { verifyDiffId: true, claimedBy: 'the cache' });
  }
}
