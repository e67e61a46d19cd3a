import { lstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

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
  /** Which of these absolute paths the root does not have. */
  absent(paths: string[]): Promise<Set<string>>;
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
    async readFile(rel) {
      try {
        return await readFile(join(path, rel), 'utf8');
      } catch {
        return undefined;
      }
    },
    // Synchronous: every RUN checks each spec mount point, nearly always present, in series.
    async absent(paths) {
      const out = new Set<string>();
      for (const p of paths) {
        try {
          if (lstatSync(join(path, p), { throwIfNoEntry: false }) === undefined) out.add(p);
        } catch {
          out.add(p);
        }
      }
      return out;
    },
  };
}
