import { lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { UserError } from '../errors.js';

/**
 * Resolves `path` (absolute inside a rootfs) to a host path under `root`, following symlinks as
 * the container would see them: an absolute link target is taken relative to `root` and `..`
 * stops at the root, so nothing outside `root` is ever reached. With `followLast` false the last
 * component is not followed (for lstat-like use). Missing components are kept as written.
 */
export async function resolveInRoot(root: string, path: string, followLast = true): Promise<string> {
  const parts = posix
    .normalize('/' + path)
    .split('/')
    .filter(Boolean);
  const resolved: string[] = [];
  let hops = 0;
  while (parts.length) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = [...resolved, part];
    const host = join(root, ...candidate);
    const last = parts.length === 0;
    let isLink = false;
    try {
      isLink = (await lstat(host)).isSymbolicLink();
    } catch {
      isLink = false;
    }
    if (isLink && (!last || followLast)) {
      if (++hops > 255)
        throw new UserError(`too many levels of symbolic links resolving ${path}`, {
          hint: 'a symlink on the way leads back to itself (a loop)',
        });
      const target = await readlink(host);
      const targetParts = target.split('/').filter(Boolean);
      if (target.startsWith('/')) resolved.length = 0;
      parts.unshift(...targetParts);
      continue;
    }
    resolved.push(part);
  }
  return join(root, ...resolved);
}
