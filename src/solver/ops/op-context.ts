import type { IdMapping } from '../../snapshot/id-mapping.js';
import type { CacheRecords } from '../../cache/cache-records.js';
import type { ContentStore } from '../../store/content-store.js';
import type { ContextSelection } from '../../cache/context-source.js';
import type { StatePaths } from '../../store/state-paths.js';
import type { Descriptor } from '../../image/types.js';
import type { SnapshotStore } from '../../snapshot/snapshot-store.js';
import type { SnapshotId } from '../../snapshot/snapshot-id.js';
import type { CacheMountHolds } from './cache-mount-holds.js';
import type { EventSink } from '../events.js';
import type { ImageOrigin } from '../graph.js';
import type { ImportedCache, ImportedRecord } from '../../cache/remote/imported-cache.js';
import type { StepResources } from '../../executor/resources.js';
import type { StepUsage } from '../events.js';

/** A directory the build reads files from: the context, or a `--build-context` one. */
export interface ContextDir {
  dir: string;
  /** Its .dockerignore as predicates (the frontend owns the pattern syntax). */
  ignore: { isIgnored(rel: string): boolean; canSkipDir?(rel: string): boolean };
  /** Content hash of one of its files; a stat cache can answer without reading (default: read and hash). */
  hashFile?: (abs: string, entry: import('../../cache/context-source.js').ContextEntry) => Promise<string>;
}

/** The directory a context source or bind mount reads: the build's context, or the `--build-context` named. */
export function contextDirOf(ctx: SolveContext, name: string | undefined): ContextDir {
  if (name === undefined)
    return { dir: ctx.contextDir, ignore: ctx.ignore, ...(ctx.hashFile ? { hashFile: ctx.hashFile } : {}) };
  const named = ctx.namedContexts?.get(name);
  // the frontend names only contexts the request has
  if (!named) throw new Error(`no --build-context named ${name}`);
  return named;
}

/** Everything an op needs from the outside world, handed in by whoever runs the build. */
export interface SolveContext {
  paths: StatePaths;
  store: ContentStore;
  snapshots: SnapshotStore;
  records: CacheRecords;
  contextDir: string;
  /** .dockerignore as predicates (the frontend owns the pattern syntax). */
  ignore: { isIgnored(rel: string): boolean; canSkipDir?(rel: string): boolean };
  /** Content hash of a context file; a stat cache can answer without reading (default: read and hash). */
  hashFile?: (abs: string, entry: import('../../cache/context-source.js').ContextEntry) => Promise<string>;
  /** Makes sure a base image's blob is in the content store (pulls it if needed). */
  fetchBlob(origin: ImageOrigin, desc: Descriptor): Promise<void>;
  emit: EventSink;
  /** `--secret id=…`: where each secret's value comes from. Never part of a key or a layer. */
  secrets?: Map<string, { file?: string; env?: string }>;
  /** `--ssh id[=socket]`: agent sockets RUN --mount=type=ssh forwards. */
  ssh?: Map<string, string>;
  signal: AbortSignal;
  /**
   * Caches imported with --cache-from: consulted for keys the state dir has no usable record of.
   * A promise while the cache manifests are still being read: the steps' keys (context hashing)
   * are made meanwhile, and a step waits for it only once its key is there.
   */
  importedCache?: ImportedCache | Promise<ImportedCache | undefined>;
  /** Image owners to host owners for what steps write (identity when absent; a rootless build maps). */
  idMapping?: IdMapping;
  /** `--build-context` directories, by the name the graph's sources give. */
  namedContexts?: Map<string, ContextDir>;
  /**
   * `--memory`, `--cpus`, `--cgroup-parent`, …: limits of every RUN's cgroup. Not part of any key:
   * a limit changes whether a step succeeds, not what it makes.
   */
  resources?: StepResources;
  /**
   * isolation chroot: nothing is mounted; a RUN runs chrooted in a copy of its chain and COPY
   * writes into one, their layers found by diffing (snapshot/tree-rootfs.ts).
   */
  mountFree?: boolean;
}

export type { ImportedCache, ImportedRecord };

/**
 * A layer of a result that is not in the state dir yet (a base image's, an imported cache's): the
 * blob it is made from, where that blob comes from, and how to make the snapshot. Steps that run
 * make their inputs' layers present first; an output takes the blob, fetched only if it needs the bytes.
 */
export interface RemoteLayer {
  id: string;
  /** Absent when the source cannot name it (then fetching it makes the snapshot). */
  blob?: { digest: string; size: number; mediaType: string; diffId: string };
  /** Downloads the blob into the content store (no unpacking). */
  fetchBlob(): Promise<void>;
  /** Makes the snapshot exist (download and unpack). */
  materialize(): Promise<void>;
}

/** A vertex's result: its rootfs as snapshot ids, bottom first. */
export interface VertexResult {
  layers: string[];
  /** When this result was first made (from its cache record): the image's `created`, so a cached rebuild gives the same digest. */
  createdAt?: string;
}

export interface OpRun<L = unknown> {
  ctx: SolveContext;
  /** The snapshot id this op's layer gets. */
  snapshotId: SnapshotId;
  inputs: VertexResult[];
  /** Selections made while computing the key (context sources), reused when the op runs. */
  selections: Map<number, ContextSelection>;
  /** What else computing the key learned (OpKey.learned): it travels with the key, not through module state. */
  learned?: L;
  /** The cache mounts this build's steps hold (per build, owned by the Solver). */
  cacheMounts: CacheMountHolds;
  /** The step skips the cache (--no-cache, --no-cache-filter): its cache mounts start empty, as BuildKit's do. */
  noCache?: boolean;
  onLog(stream: 'stdout' | 'stderr', data: string): void;
  /** What the step's processes used (RUN steps, from their cgroup): shown when the step ends. */
  onUsage?(usage: StepUsage): void;
}
