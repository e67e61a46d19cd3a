import { chmod, chown, lstat, mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { UserError } from '../errors.js';
import { resolveInRoot } from '../store/resolve-in-root.js';
import { type IdMapping, OWNER_XATTR, ownerXattrValue, processIdMapping } from './id-mapping.js';
import { writeXattrs, type XattrWrite } from './xattrs.js';

export interface NewDirs {
  /** The owner of created directories as the image has it; `idMapping` gives the host's. */
  uid: number;
  gid: number;
  /** processIdMapping() when absent: identity for root. */
  idMapping?: IdMapping;
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
  // One resolve of the whole path (links on the way followed inside the root), then one walk down
  // it: resolving each prefix again cost O(depth²) lstats of ever longer paths (a 300-level
  // WORKDIR took 3.7 s, 1,000 levels over a minute).
  const host = await resolveInRoot(root, dir);
  const ids = opts.idMapping ?? processIdMapping();
  const owner = ownerXattrValue(ids, opts.uid, opts.gid);
  const made: XattrWrite[] = [];
  const uid = ids.uid(opts.uid);
  const gid = ids.gid(opts.gid);
  const rel = relative(root, host);
  let current = root;
  let creating = false;
  for (const part of rel === '' ? [] : rel.split('/')) {
    current = join(current, part);
    if (!creating) {
      const st = await lstatOrUndefined(current);
      if (st?.isDirectory()) continue;
      if (st) throw new UserError(`${opts.what}: /${relative(root, current)} exists and is not a directory`);
      // Every component from here is a plain name missing under a real directory in the root,
      // so creating them one by one stays inside it.
      creating = true;
    }
    try {
      await mkdir(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR')
        throw new UserError(`${opts.what}: a path on the way to ${dir} is not a directory`);
      throw err;
    }
    await chmod(current, opts.mode);
    await chown(current, uid, gid);
    if (owner) made.push({ path: current, name: OWNER_XATTR, value: owner });
  }
  if (made.length) await writeXattrs(made);
  return host;
}
