import type { CacheRecord } from './cache-records.js';

/**
 * The build cache as `--cache-to` writes it and `--cache-from` reads it: a plain OCI image
 * manifest (so any registry, and any OCI layout tool, stores it) whose layers are the step
 * layers' blobs and whose config blob, of this media type, holds the cache records: for each
 * cache key, its chain of snapshot ids and which blob each snapshot came from. Snapshot ids are
 * kept as they are: records name their inputs' top layers by id (`inputTops`), and ids of steps
 * are derived from their keys, so an imported record means the same thing it meant where it
 * was made. Base image layers are not included: their `FROM` can always fetch them.
 */
export const CACHE_CONFIG_MEDIA_TYPE = 'application/vnd.tsbuild.cache.config.v1+json';

export interface CacheLayerBlob {
  mediaType: string;
  digest: string;
  size: number;
  diffId: string;
}

export interface CacheConfig {
  /** Bumped when the meaning of a record changes; a cache of another version is ignored. */
  version: 1;
  records: Omit<CacheRecord, 'keyInputs'>[];
  /** snapshot id → the blob it unpacks from. */
  layers: Record<string, CacheLayerBlob>;
}

const KEY = /^[a-f0-9]{64}$/;
// Snapshot ids become directory names under snapshots/: nothing but a short lowercase name.
const SNAPSHOT_ID = /^[a-z][a-z0-9]{1,63}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Validates an imported cache config; throws an Error saying what is wrong (callers warn and go on without it). */
export function parseCacheConfig(bytes: Uint8Array): CacheConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new Error('the cache config is not valid JSON');
  }
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(doc)) throw new Error('the cache config is not a JSON object');
  if (doc.version !== 1) throw new Error(`unsupported cache config version ${JSON.stringify(doc.version)}`);
  if (!Array.isArray(doc.records) || !isObj(doc.layers)) throw new Error('the cache config has no records or layers');
  const layers: Record<string, CacheLayerBlob> = {};
  for (const [id, l] of Object.entries(doc.layers)) {
    if (!SNAPSHOT_ID.test(id)) throw new Error(`malformed snapshot id ${JSON.stringify(id)}`);
    if (
      !isObj(l) ||
      typeof l.mediaType !== 'string' ||
      typeof l.digest !== 'string' ||
      !DIGEST.test(l.digest) ||
      typeof l.diffId !== 'string' ||
      !DIGEST.test(l.diffId) ||
      typeof l.size !== 'number' ||
      !Number.isSafeInteger(l.size) ||
      l.size < 0
    ) {
      throw new Error(`malformed layer entry for ${id}`);
    }
    layers[id] = { mediaType: l.mediaType, digest: l.digest, size: l.size, diffId: l.diffId };
  }
  const records: CacheConfig['records'] = [];
  for (const r of doc.records) {
    if (!isObj(r) || typeof r.key !== 'string' || !KEY.test(r.key)) throw new Error('a record without a valid key');
    if (!Array.isArray(r.layers) || !r.layers.every((id) => typeof id === 'string' && SNAPSHOT_ID.test(id)))
      throw new Error(`record ${r.key}: malformed layers`);
    if (
      r.inputTops !== undefined &&
      (!Array.isArray(r.inputTops) ||
        !r.inputTops.every((id) => typeof id === 'string' && (id === '' || SNAPSHOT_ID.test(id))))
    ) {
      throw new Error(`record ${r.key}: malformed inputTops`);
    }
    records.push({
      key: r.key,
      layers: r.layers as string[],
      createdAt: typeof r.createdAt === 'string' ? r.createdAt : new Date(0).toISOString(),
      description: typeof r.description === 'string' ? r.description : '',
      ...(r.inputTops ? { inputTops: r.inputTops as string[] } : {}),
    });
  }
  return { version: 1, records, layers };
}
