import { chmod, chown, lstat, mkdir } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import { UserError } from '../errors.js';
import { resolveInRoot } from './resolve-in-root.js';

export interface NewDirs {
  uid: number;
  gid: number;
  mode: number;
  /** Names the instruction in the message when a path on the way is not a directory. */
  what: string;
}

const lstatOrUndefined = (p: string) => lstat(p).catch(() => undefined);

/**
 * mkdir -p of `dir` (absolute in the rootfs at `root`), following symlinks on the way as the
 * container sees them, as BuildKit's MkdirAll does in the rootfs: a link to a missing path
 * (`/evil -> /nonexist/deeper`) gets the directories it points at made, inside the root. Created
 * directories get `mode` and the owner. Returns the host path of `dir`.
 */
export async function mkdirAllInRoot(root: string, dir: string, opts: NewDirs): Promise<string> {
  let current = '/';
  for (const part of posix.normalize(dir).split('/').filter(Boolean)) {
    current = posix.join(current, part);
    const host = await resolveInRoot(root, current);
    const st = await lstatOrUndefined(host);
    if (st?.isDirectory()) continue;
    if (st) throw new UserError(`${opts.what}: ${current} exists and is not a directory`);
    // Every component missing after resolving is a plain name under an existing dir in the
    // root (links on the way were followed), so creating them one by one stays inside it.
    const missing: string[] = [];
    for (let p = host; p.length > root.length && !(await lstatOrUndefined(p)); p = dirname(p)) missing.unshift(p);
    for (const m of missing) {
      try {
        await mkdir(m);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new UserError(`${opts.what}: a path on the way to ${current} is not a directory`);
        throw err;
      }
      await chmod(m, opts.mode);
      await chown(m, opts.uid, opts.gid);
    }
  }
  return resolveInRoot(root, dir);
}
