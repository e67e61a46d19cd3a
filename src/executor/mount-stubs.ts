import { lstatSync } from 'node:fs';
import { lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { join } from 'node:path';

/** Synchronous: every RUN checks each spec mount point, nearly always present, in series. */
function missing(rootfs: string, path: string): boolean {
  try {
    return lstatSync(join(rootfs, path), { throwIfNoEntry: false }) === undefined;
  } catch {
    return true;
  }
}

/**
 * runc creates the mount points a spec needs (/proc, /etc/hosts, …) inside the rootfs when they are
 * absent, which would leak them into the step's layer. Like BuildKit, note which were missing
 * before the run (with any missing parents) and remove them afterwards if they are still empty.
 */
export async function findMissingMountPoints(rootfs: string, mountPoints: string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const mp of mountPoints) {
    let p = mp;
    while (p !== '/' && missing(rootfs, p)) {
      out.add(p);
      p = posix.dirname(p);
    }
  }
  // Deepest first, so parents are empty by the time they are removed.
  return [...out].sort((a, b) => b.length - a.length);
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
