import { constants, lstatSync } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { resolveInRoot } from '../store/resolve-in-root.js';

/**
 * A RUN's root filesystem as runc gets it, and how tsbuild looks into it before runc starts
 * (USER lookup, mount points runc would have to create).
 */
export interface ContainerRoot {
  /** The spec's root.path. */
  path: string;
  /** When set, runc mounts an overlay with these options at / over `path` (an empty dir). */
  overlay?: string[];
  /** A file of the root, by path relative to it; undefined when there is none. */
  readFile(rel: string): Promise<string | undefined>;
  /**
   * Which of these absolute paths the root does not have; those of them that are symlinks go
   * into `symlinks` when it is given.
   */
  absent(paths: string[], symlinks?: Set<string>): Promise<Set<string>>;
  /** Where what runc creates in the root lands (the mount point stubs to clean afterwards). */
  writableDir: string;
}

/**
 * Thrown by a ContainerRoot that cannot answer without a real mount (a symlink on the way to a
 * path): raised before runc starts, so the caller can run the step over a host mount instead.
 */
export class NeedsMountedRoot extends Error {}

/** A root dir (mounted, or a plain directory), or a ContainerRoot that reads without a mount. */
export type RootLike = string | ContainerRoot;

export function asContainerRoot(root: RootLike): ContainerRoot {
  return typeof root === 'string' ? mountedRoot(root) : root;
}

/** A root already mounted (or a plain directory) at `path`. */
export function mountedRoot(path: string): ContainerRoot {
  return {
    path,
    writableDir: path,
    // Symlinks on the way resolve as the container sees them: /etc/passwd -> /x is /x of the root.
    async readFile(rel) {
      return readRootFile(await resolveInRoot(path, '/' + rel), rel);
    },
    // Synchronous: every RUN checks each spec mount point, nearly always present, in series.
    async absent(paths, symlinks) {
      const out = new Set<string>();
      for (const p of paths) {
        try {
          const st = lstatSync(join(path, p), { throwIfNoEntry: false });
          if (st === undefined) out.add(p);
          else if (st.isSymbolicLink()) symlinks?.add(p);
        } catch {
          out.add(p);
        }
      }
      return out;
    },
  };
}

/** What tsbuild reads from a root (/etc/passwd, /etc/group) is a few KiB; more is refused unread. */
export const ROOT_FILE_MAX = 4 << 20;

/**
 * Reads `host`, the file a root has at `/rel` (symlinks already resolved inside the root): a
 * regular file of at most ROOT_FILE_MAX bytes, or undefined when there is none. Anything else
 * (a device, a fifo, a directory, a huge file) is the Dockerfile's doing and a UserError: it is
 * never opened or read into memory.
 */
export async function readRootFile(host: string, rel: string): Promise<string | undefined> {
  const st = await lstat(host).catch(() => undefined);
  if (!st) return undefined;
  checkRootFile(st, rel);
  const fh = await open(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => undefined);
  if (!fh) return undefined;
  try {
    checkRootFile(await fh.stat(), rel);
    const buf = Buffer.alloc(ROOT_FILE_MAX + 1);
    let size = 0;
    for (let n = -1; n !== 0 && size < buf.length; size += n)
      n = (await fh.read(buf, size, buf.length - size, size)).bytesRead;
    if (size > ROOT_FILE_MAX) checkRootFile({ isFile: () => true, size }, rel);
    return buf.toString('utf8', 0, size);
  } finally {
    await fh.close();
  }
}

function checkRootFile(st: { isFile(): boolean; size: number }, rel: string): void {
  if (!st.isFile()) {
    throw new UserError(`/${rel} in the image is not a regular file`, {
      hint: `an earlier step replaced /${rel}; it must be a plain text file for user and group names to be looked up`,
    });
  }
  if (st.size > ROOT_FILE_MAX) {
    throw new UserError(`/${rel} in the image is larger than ${ROOT_FILE_MAX >> 20} MiB (${st.size} bytes)`, {
      hint: 'user and group names are looked up in it; use numeric ids, or keep the file small',
    });
  }
}
