import { lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { asContainerRoot, type RootLike } from './container-root.js';

/**
 * runc creates the mount points a spec needs (/proc, /etc/hosts, …) inside the rootfs when they are
 * absent, which would leak them into the step's layer. Like BuildKit, note which were missing
 * before the run (with any missing parents) and remove them afterwards if they are still empty.
 * `symlinks` is given the mount points (and parents of them) that are symlinks in the root.
 */
export async function findMissingMountPoints(
  root: RootLike,
  mountPoints: string[],
  symlinks?: Set<string>,
): Promise<string[]> {
  const candidates = new Set<string>();
  for (const mp of mountPoints) {
    for (let p = posix.normalize(mp); p !== '/' && p !== '.'; p = posix.dirname(p)) candidates.add(p);
  }
  // A path is there only if its parents are, so the missing ones are exactly the stubs.
  const absent = await asContainerRoot(root).absent([...candidates], symlinks);
  // Deepest first, so parents are empty by the time they are removed.
  return [...absent].sort((a, b) => b.length - a.length);
}

export async function removeMountStubs(rootfs: string, stubs: string[]): Promise<void> {
  for (const p of stubs) {
    const full = join(rootfs, p);
    try {
      const st = await lstat(full);
      if (st.isDirectory()) {
        if ((await readdir(full)).length === 0) await rmdir(full);
      } else if (st.isFile() && st.size === 0) {
        await unlink(full);
      }
    } catch {
      // already gone: nothing to clean
    }
  }
}
