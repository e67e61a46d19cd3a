import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted, no whitespace, so the same op always hashes the same way
 * whatever order its fields were built in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export type CacheKey = string & { readonly __brand: 'cachekey' };

/** The record a key is the hash of; kept beside the result so a later miss can be explained. */
export interface KeyRecord {
  op: unknown;
  inputs: string[];
  /** For context sources: the digest of exactly the selected files. */
  content?: string[];
}

export function cacheKeyOf(record: KeyRecord): CacheKey {
  return createHash('sha256').update('tsbuild-cache-v1\n').update(canonicalJson(record)).digest('hex') as CacheKey;
}
