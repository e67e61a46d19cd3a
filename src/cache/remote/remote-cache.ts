import type { Descriptor, ImageManifest } from '../../image/types.js';
import type { LayerCompression } from '../../image/layer-compression.js';
import type { RegistryClient } from '../../registry/client.js';
import type { ContentStore } from '../../store/content-store.js';

/**
 * One kind of remote cache, buildx's `--cache-to type=…` / `--cache-from type=…` (registry and
 * local today; S3 or GitHub Actions would be one more file like registry-cache.ts and a line in
 * backends.ts). A backend knows where a cache lives and how to move its manifest and blobs; what
 * a cache holds (records, layers) and how it is read and written is the same for all
 * (cache-import.ts, cache-export.ts, ../cache-manifest.ts). An entry file holds no heavy imports:
 * the registry client and exporters are imported when `read` or `write` runs.
 *
 * `To` and `From` are the backend's parsed `--cache-to` and `--cache-from` locations, plain data
 * with `type` set to the backend's.
 */
export interface RemoteCacheBackend<To extends { type: string } = { type: string }, From = To> {
  readonly type: To['type'];
  /** The keys it takes in --cache-to besides `type` and the common ones (EXPORT_OPTION_KEYS). */
  readonly toKeys: readonly string[];
  /** The keys it takes in --cache-from besides `type`. */
  readonly fromKeys: readonly string[];
  /** Examples for hints. */
  readonly toExample: string;
  readonly fromExample: string;
  /** Checks the backend's own fields (already known to be among its keys). Throws UserError. */
  parseTo(fields: ReadonlyMap<string, string>, flag: FlagText): To;
  parseFrom(fields: ReadonlyMap<string, string>, flag: FlagText): From;
  /** What progress lines and errors call the cache. */
  describeTo(to: To): string;
  describeFrom(from: From): string;
  /** The registry host a `registry.insecure=true` location lets the build reach over plain HTTP. */
  insecureRegistry?(location: To | From): string | undefined;
  /** Reads the cache manifest into the store; its blobs are fetched on demand. */
  read(from: From, ctx: RemoteCacheContext): Promise<RemoteCacheManifest>;
  /** Publishes a cache manifest (and its blobs) from the store; returns a note for the status line. */
  write(to: To, manifest: Descriptor, ctx: RemoteCacheContext): Promise<string>;
}

/** The flag and spec being parsed, for messages, and the CLI's reading of a boolean field. */
export interface FlagText {
  flag: '--cache-to' | '--cache-from';
  spec: string;
  bool(key: string): boolean;
  /** The field's value, or a UserError naming the flag when it is missing or empty. */
  required(key: string): string;
}

/** What a backend works with: the state dir's content store, and the build's registry client. */
export interface RemoteCacheContext {
  store: ContentStore;
  stateRoot: string;
  registry: () => Promise<RegistryClient>;
  signal?: AbortSignal;
}

export interface RemoteCacheManifest {
  manifest: ImageManifest;
  /** Copies one blob the manifest names into the store (no-op when it is there). */
  fetchBlob(desc: Descriptor): Promise<void>;
  /** Whether a blob is there at its size, where that is cheap to know (a local directory). */
  blobLooksWhole?(desc: Descriptor): Promise<boolean>;
}

/** `--cache-to` options every backend takes (buildx's). */
export interface CacheExportOptions {
  mode: 'min' | 'max';
  ignoreError: boolean;
  compression?: LayerCompression;
}

/** The common --cache-to keys; `image-manifest` and `oci-mediatypes` describe what tsbuild always writes. */
export const EXPORT_OPTION_KEYS: readonly string[] = [
  'mode',
  'ignore-error',
  'compression',
  'image-manifest',
  'oci-mediatypes',
];

/** Progress a cache transfer reports: a subset of the solver's events. */
export type CacheEvent =
  | { type: 'status'; time: number; message: string; done?: boolean; durationMs?: number }
  | { type: 'warning'; time: number; message: string };
