import { existsSync } from 'node:fs';
import { mkdir, rm, rmdir, statfs, unlink } from 'node:fs/promises';
import { asEnvironmentError, EnvironmentError } from '../errors.js';
import type { SnapshotStore } from '../snapshot/snapshot-store.js';
import type { CacheRecords } from './cache-records.js';
import type { StateOwners } from './state-owners.js';
import type { ContentStore } from '../store/content-store.js';
import { capCheckNeeded, freeBytes, recordCacheSize, recordFreshEstimate } from './cap-estimate.js';
import { StateLock, type Release } from '../store/state-lock.js';
import type { StatePaths } from '../store/state-paths.js';
import { spreadSubdirs } from '../store/spread-subdirs.js';
import { detachMountsUnder, sweepStale } from './sweep.js';

/**
 * A build's hold on the state directory: its shared lease (GC waits for it), the sweep of what
 * killed builds left behind, and on the way out the automatic size cap.
 */
export interface StateSession {
  /**
   * Settles once the state dir's layout is ready for new snapshots (spread-subdirs.ts): started
   * with the session, it overlaps what comes before the first snapshot (parsing, resolving images).
   */
  layoutReady: Promise<void>;
  /** Frees the lease, removes this build's scratch dir and, when the build added to the cache, applies the cap. */
  close(opts: {
    grew: boolean;
    parts?: { store: ContentStore; snapshots: SnapshotStore; records: CacheRecords; owners(): Promise<StateOwners> };
  }): Promise<void>;
}

const TEN_GB = 10 * 1024 ** 3;

/**
 * TSBUILD_CACHE_MAX as a number of bytes (0: no cap), or undefined when unset. A value that is not
 * a size is the environment's to fix; the CLI checks it before the build (build-preflight.ts).
 */
export async function cacheMaxFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  if (env.TSBUILD_CACHE_MAX === undefined || env.TSBUILD_CACHE_MAX === '') return undefined;
  const n = (await import('./size.js')).parseSize(env.TSBUILD_CACHE_MAX);
  if (n === undefined) {
    throw new EnvironmentError(
      `TSBUILD_CACHE_MAX=${env.TSBUILD_CACHE_MAX}: not a size (e.g. 5GB, 500MB, 0 for no cap)`,
      {
        hint: 'set TSBUILD_CACHE_MAX to a size such as 20GB, to 0 for no cap, or unset it for the default (20% of the disk, at most 10GB)',
      },
    );
  }
  return n;
}

/**
 * The state dir could not be made or written: a path that is not a directory, no permission or
 * no space is the machine's to fix (an EnvironmentError that says how); anything else a bug.
 */
export function stateDirError(err: unknown, root: string): unknown {
  const e = err as NodeJS.ErrnoException | undefined;
  const set = process.env.TSBUILD_ROOT ? 'TSBUILD_ROOT' : 'the default; TSBUILD_ROOT moves it';
  // mkdir of the state dir, or of a directory above it, met a file
  if (
    (e?.code === 'EEXIST' || e?.code === 'ENOTDIR') &&
    e.path !== undefined &&
    (root === e.path || root.startsWith(`${e.path}/`))
  ) {
    const why = e.code === 'EEXIST' ? 'it exists and is not a directory' : 'a path above it is not a directory';
    return new EnvironmentError(`the state directory ${root} (${set}) cannot be made: ${why}`, {
      hint: 'point TSBUILD_ROOT at a directory, or at a path where one can be made',
      cause: err,
    });
  }
  return asEnvironmentError(err, `cannot use the state directory ${root} (${set})`, {
    denied: 'make it writable by the user tsbuild runs as, or point TSBUILD_ROOT at a directory that is',
  });
}

/** The cache cap: TSBUILD_CACHE_MAX (a size, or 0 for none), else 20% of the state dir's filesystem or 10 GB, whichever is smaller. */
export async function cacheCap(root: string, env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  const max = await cacheMaxFromEnv(env);
  if (max !== undefined) return max === 0 ? undefined : max;
  try {
    const fs = await statfs(root);
    return Math.min(TEN_GB, Math.floor(fs.blocks * fs.bsize * 0.2));
  } catch {
    return TEN_GB;
  }
}

/** Makes the state dir if there is none yet, takes a lease on it and sweeps it. */
export async function openStateSession(
  paths: StatePaths,
  onWait: (message: string) => void,
  signal?: AbortSignal,
): Promise<StateSession> {
  const lock = new StateLock(paths.root);
  let fresh: boolean;
  let release: Release;
  try {
    // made just now: it holds nothing yet
    fresh = (await mkdir(paths.root, { recursive: true })) !== undefined;
    release = await lock.acquireShared(onWait, signal);
  } catch (err) {
    throw stateDirError(err, paths.root);
  }
  // Only the owners' liveness decides what is swept, so sweeping beside other builds is safe.
  const othersLive = (await lock.liveBuilds()).length > 0;
  await sweepStale(paths, { othersLive }).catch(() => {});
  try {
    await mkdir(paths.tmp, { recursive: true });
    await Promise.all([paths.snapshots, paths.cacheRecords].map((d) => mkdir(d, { recursive: true })));
  } catch (err) {
    await release();
    throw stateDirError(err, paths.root);
  }
  const layoutReady = spreadSubdirs([paths.snapshots, paths.cacheRecords], paths.spreadMarker);
  // A state dir made just now holds nothing: the cap check after the build goes by what the
  // filesystem lost meanwhile instead of measuring it (cap-estimate.ts).
  const freshSince = fresh ? freeBytes(paths.root) : undefined;
  return {
    layoutReady,
    async close({ grew, parts }) {
      await layoutReady;
      // never delete through a mount a failed step may have left
      await detachMountsUnder([paths.tmp]);
      await rm(paths.tmp, { recursive: true, force: true }).catch(() => {});
      await rm(paths.runtimeTmp, { recursive: true, force: true }).catch(() => {});
      await rm(paths.shmTmp, { recursive: true, force: true }).catch(() => {});
      await rmdir(paths.shmTmpRoot).catch(() => {});
      // The runtime dir goes too once nothing is in it (another build's things keep it; one
      // that starts meanwhile makes it again, as runc does its --root).
      const containerDirs = [paths.runtimeTmpRoot, paths.runc, paths.crun];
      for (const dir of containerDirs) await rmdir(dir).catch(() => {});
      // Its marker too, once no bundle or container is left (a build that starts meanwhile and
      // finds none is only not swept by others: the safe side)
      if (!containerDirs.some((dir) => existsSync(dir))) await unlink(paths.runtimeMarker).catch(() => {});
      await rmdir(paths.runtime).catch(() => {});
      await release();
      if (!grew || !parts) return;
      const cap = await cacheCap(paths.root);
      if (cap === undefined) return;
      if (!capCheckNeeded(paths.root, cap, Date.now(), freshSince)) {
        if (freshSince !== undefined) await recordFreshEstimate(paths.root, freshSince);
        return;
      }
      // The cap is applied by whichever build finishes last: with others running, skip.
      const exclusive = await lock.acquireExclusive({ wait: false });
      if (!exclusive) return;
      try {
        const { cacheSize, prune } = await import('./gc.js');
        const state = { paths, ...parts, owners: await parts.owners() };
        let size = await cacheSize(state);
        if (size > cap) size -= (await prune(state, { keepBytes: cap })).bytes;
        await recordCacheSize(paths.root, size);
      } finally {
        await exclusive();
      }
    },
  };
}
