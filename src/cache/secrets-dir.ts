/**
 * Where RUN --mount=type=secret values are written while their step runs: on a memory-backed
 * filesystem, so that a build killed with SIGKILL leaves a secret in memory only (until the next
 * build sweeps it, or a reboot), never on a disk, as BuildKit keeps them on a tmpfs. First choice
 * is the runtime dir (under /run, a tmpfs on most systems), then /dev/shm; where neither is
 * memory-backed, the state dir's tmp/ as before (README: Secrets).
 */
import { lstat, mkdir, statfs } from 'node:fs/promises';
import type { StatePaths } from '../store/state-paths.js';

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

export async function isMemoryBacked(dir: string): Promise<boolean> {
  try {
    const type = Number((await statfs(dir)).type);
    return type === TMPFS_MAGIC || type === RAMFS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * A directory of our own in a world-writable place: made 0700 by us, or already there as a real
 * directory we own that no one else can enter. Anything else (a symlink, another user's dir) is
 * not used: someone could read what we put there.
 */
async function privateDir(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return false;
  }
  return isOwnPrivateDir(dir);
}

export async function isOwnPrivateDir(dir: string): Promise<boolean> {
  try {
    const st = await lstat(dir);
    return st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

export interface SecretsDir {
  /** This build's own dir (owner-scoped, swept when the owner is gone). */
  dir: string;
  memory: boolean;
}

/** Chosen once per build: keyed by the build's StatePaths, so it goes with the build. */
const chosen = new WeakMap<StatePaths, Promise<SecretsDir>>();

export function secretsDir(paths: StatePaths): Promise<SecretsDir> {
  let found = chosen.get(paths);
  if (!found) {
    found = choose(paths);
    chosen.set(paths, found);
  }
  return found;
}

async function choose(paths: StatePaths): Promise<SecretsDir> {
  await mkdir(paths.runtimeTmp, { recursive: true });
  if (await isMemoryBacked(paths.runtimeTmp)) return { dir: paths.runtimeTmp, memory: true };
  if ((await isMemoryBacked('/dev/shm')) && (await privateDir(paths.shmTmpRoot))) {
    await mkdir(paths.shmTmp, { recursive: true, mode: 0o700 });
    return { dir: paths.shmTmp, memory: true };
  }
  await mkdir(paths.tmp, { recursive: true });
  return { dir: paths.tmp, memory: false };
}
