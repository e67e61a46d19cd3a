import { mkdir, open, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isOwnerAlive, ownerToken } from './owner.js';
import { StatePaths } from './state-paths.js';

/**
 * Who may touch the state directory at the same time (`<state>/locks/`):
 *
 * - a build holds a *shared* lease, `build-<owner>`, for its whole run. Builds run together:
 *   each writes only new, uniquely named things (pending snapshots, temp files under its own
 *   `tmp/<owner>/`, blobs and records by atomic rename of content-named files);
 * - garbage collection holds the *exclusive* lock, `exclusive` (O_EXCL, holding its owner):
 *   it deletes things a build may be about to use, so it waits until no build runs, and builds
 *   wait while it runs;
 * - short read-modify-write sections (index.json tags) take a named mutex (ContentStore does).
 *
 * Each side writes its own mark before looking for the other's, so one of the two always sees
 * the other. No daemon and no flock: a mark whose owner (pid + start time + boot id) no longer
 * runs is stale and is ignored or removed, so a build killed with SIGKILL never blocks another.
 */
export type Release = () => Promise<void>;

const POLL_MS = 100;

export class StateLock {
  readonly dir: string;

  constructor(stateRoot: string) {
    this.dir = new StatePaths(stateRoot).locks;
  }

  private get exclusivePath(): string {
    return join(this.dir, 'exclusive');
  }

  private leasePath(token: string): string {
    return join(this.dir, `build-${token}`);
  }

  private async exclusiveOwner(): Promise<string | undefined> {
    try {
      return (await readFile(this.exclusivePath, 'utf8')).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** A build's lease. Waits (calling `onWait` once) while a live GC holds the exclusive lock. */
  async acquireShared(onWait?: (message: string) => void, signal?: AbortSignal): Promise<Release> {
    await mkdir(this.dir, { recursive: true });
    const lease = this.leasePath(ownerToken());
    let told = false;
    for (;;) {
      await writeFile(lease, '');
      const holder = await this.exclusiveOwner();
      // A dead holder's lock is ignored here; only exclusive acquirers remove it.
      if (!holder || !isOwnerAlive(holder)) return () => unlink(lease).catch(() => {});
      await unlink(lease).catch(() => {});
      if (!told) onWait?.('waiting for a tsbuild prune to finish with the state directory');
      told = true;
      if (signal?.aborted) throw signal.reason ?? new Error('cancelled');
      await sleep(POLL_MS);
    }
  }

  /** Live builds' lease tokens other than this process's; dead leases are removed on the way. */
  async liveBuilds(): Promise<string[]> {
    const self = ownerToken();
    const live: string[] = [];
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (!name.startsWith('build-')) continue;
      const token = name.slice(6);
      if (token === self) continue;
      if (isOwnerAlive(token)) live.push(token);
      else await unlink(join(this.dir, name)).catch(() => {});
    }
    return live;
  }

  /**
   * The exclusive lock. With `wait`, waits for running builds and another GC to finish
   * (calling `onWait` once); without, gives up at once (undefined) when anyone else is active.
   */
  async acquireExclusive(opts: { wait: boolean; onWait?: (message: string) => void }): Promise<Release | undefined> {
    await mkdir(this.dir, { recursive: true });
    const self = ownerToken();
    let told = false;
    const waitOrGiveUp = async (message: string): Promise<boolean> => {
      if (!opts.wait) return false;
      if (!told) opts.onWait?.(message);
      told = true;
      await sleep(POLL_MS);
      return true;
    };
    for (;;) {
      try {
        await createLockFile(this.exclusivePath, self);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = await this.exclusiveOwner();
        if (holder && isOwnerAlive(holder)) {
          if (!(await waitOrGiveUp('waiting for another tsbuild prune to finish'))) return undefined;
        } else if (holder !== undefined || (await emptyAndOld(this.exclusivePath))) {
          if (!(await removeStaleLock(this.exclusivePath, holder ?? ''))) await sleep(5);
        } else {
          // created but not yet written by its owner: give it a moment
          await sleep(10);
        }
      }
    }
    const release: Release = async () => {
      if ((await this.exclusiveOwner()) === self) await unlink(this.exclusivePath).catch(() => {});
    };
    for (;;) {
      const builds = await this.liveBuilds();
      if (builds.length === 0) return release;
      if (
        !(await waitOrGiveUp(`waiting for ${builds.length} running build${builds.length > 1 ? 's' : ''} to finish`))
      ) {
        await release();
        return undefined;
      }
    }
  }
}

/**
 * A short critical section between processes: `path` is created O_EXCL and holds the owner's
 * token; a lock file left by a dead process is taken over.
 */
export async function withFileMutex<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const release = await acquireFileMutex(path);
  try {
    return await fn();
  } finally {
    await release();
  }
}

export interface MutexWait {
  /** Called once, when the lock is found held by a live process (its owner token). */
  onWait?: (holder: string) => void;
  signal?: AbortSignal;
  /** Longest pause between looks while a live holder keeps it (default 20 ms: short sections). */
  maxPollMs?: number;
}

/**
 * Takes the file mutex `path` (see withFileMutex) and returns its release. While a live process
 * holds it, looks again with a growing pause up to `maxPollMs`; a holder that died (even by
 * SIGKILL) is taken over. The release removes the file only while it still holds this process's token.
 */
export async function acquireFileMutex(path: string, wait: MutexWait = {}): Promise<Release> {
  const self = ownerToken();
  const maxPoll = wait.maxPollMs ?? 20;
  let pause = 5;
  let told = false;
  for (;;) {
    try {
      await createLockFile(path, self);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (wait.signal?.aborted) throw wait.signal.reason ?? new Error('cancelled');
      const holder = (await readFile(path, 'utf8').catch(() => '')).trim();
      if ((holder && !isOwnerAlive(holder)) || (!holder && (await emptyAndOld(path)))) {
        if (!(await removeStaleLock(path, holder))) await sleep(5);
      } else {
        if (holder && !told) wait.onWait?.(holder);
        told ||= !!holder;
        await sleep(holder ? pause : 5);
        if (holder) pause = Math.min(maxPoll, pause * 1.5);
      }
    }
  }
  return async () => {
    if ((await readFile(path, 'utf8').catch(() => '')).trim() === self) await unlink(path).catch(() => {});
  };
}

/** Creates `path` (O_EXCL) holding `token`; if the token cannot be written (a full disk), no empty lock is left behind. */
async function createLockFile(path: string, token: string): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    try {
      await fh.writeFile(token);
    } finally {
      await fh.close();
    }
  } catch (err) {
    await unlink(path).catch(() => {});
    throw err;
  }
}

/** A lock file its creator died before writing its token into (created, never filled, for a while). */
async function emptyAndOld(path: string): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  return !!st && st.size === 0 && Date.now() - st.mtimeMs > 2000;
}

/**
 * Removes the lock file `path` if it still holds `staleHolder` ('' for one left empty), and
 * says whether it did. Takeovers are serialised by `<path>.break`: without it two waiters can
 * both read the dead holder, one removes it and creates its own lock, and the other's unlink
 * then removes that fresh lock, letting two holders in. The break file is held for a few
 * system calls; one older than a few seconds was left by a killed process.
 */
async function removeStaleLock(path: string, staleHolder: string): Promise<boolean> {
  const breakPath = `${path}.break`;
  try {
    await (await open(breakPath, 'wx')).close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const st = await stat(breakPath).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 2000) await unlink(breakPath).catch(() => {});
    return false;
  }
  try {
    const current = (await readFile(path, 'utf8').catch(() => undefined))?.trim();
    if (current === undefined) return true;
    if (current !== staleHolder || (current === '' && !(await emptyAndOld(path)))) return false;
    await unlink(path).catch(() => {});
    return true;
  } finally {
    await unlink(breakPath).catch(() => {});
  }
}
