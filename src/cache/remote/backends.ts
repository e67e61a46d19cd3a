import { localCache } from './local-cache.js';
import { registryCache } from './registry-cache.js';
import type { CacheExportOptions, RemoteCacheBackend } from './remote-cache.js';

/**
 * Every `--cache-to/--cache-from type=…` tsbuild reads and writes; the first is what a bare
 * reference means. A new backend is one file and one line here.
 */
export const REMOTE_CACHES = [registryCache, localCache] as const;

/** Cache types buildx has that tsbuild has no backend for, named as such in errors. */
export const UNSUPPORTED_CACHE_TYPES: readonly string[] = ['inline', 'gha', 's3', 'azblob'];

type Backend = (typeof REMOTE_CACHES)[number];

/** A parsed `--cache-from`: one backend's location. */
export type CacheImportSpec = ReturnType<Backend['parseFrom']>;

/** A parsed `--cache-to`: one backend's location with the common options. */
export type CacheExportSpec = ReturnType<Backend['parseTo']> & CacheExportOptions;

/** The backend a spec was parsed by (the table's types are erased: each entry checks its own). */
export function remoteCacheFor(type: string): RemoteCacheBackend<{ type: string }, { type: string }> | undefined {
  return REMOTE_CACHES.find((b) => b.type === type) as
    | RemoteCacheBackend<{ type: string }, { type: string }>
    | undefined;
}
