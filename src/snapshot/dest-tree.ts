import { chmodSync, chownSync, lstatSync, mkdirSync, rmSync, unlinkSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';

/**
 * The directory a layer is unpacked into, with the one rule that keeps a hostile tar inside it:
 * every path is reached through real directories that this unpack checked (lstat, never
 * following a link), so a symlink planted by an earlier entry can never redirect a later write.
 * Paths are "rel": '/'-separated, no leading '/', '' for the root itself.
 */
export class DestTree {
  /** Rels verified to be real directories (not symlinks) inside root. */
  private readonly dirs = new Set<string>(['']);

  /**
   * `implicitOwner`: the host owner of directories made because an entry's parent was missing
   * (the image's root, mapped); absent, they keep the unpacking process's owner.
   */
  constructor(
    readonly root: string,
    private readonly implicitOwner?: { uid: number; gid: number },
  ) {}

  /** Makes a directory no entry described: 0755, owned by the image's root. */
  mkdirImplicit(rel: string): void {
    mkdirSync(this.abs(rel));
    chmodSync(this.abs(rel), 0o755); // exactly 0755 whatever the process umask
    if (this.implicitOwner) chownSync(this.abs(rel), this.implicitOwner.uid, this.implicitOwner.gid);
  }

  abs(rel: string): string {
    return rel === '' ? this.root : join(this.root, rel);
  }

  /**
   * A tar member name as a rel. Leading '/' and './' are dropped as every tar reader does;
   * '..' anywhere is refused, not resolved, since no legitimate layer contains it.
   */
  static normalize(name: string, what = 'entry'): string {
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..'))
      throw new UserError(`refusing layer tar ${what} ${JSON.stringify(name)}: '..' would escape the layer`);
    return parts.join('/');
  }

  /** Makes every ancestor of `rel` a real directory (creating missing ones 0755, the image's root's). */
  async ensureParent(rel: string, entry: string): Promise<void> {
    const parts = rel.split('/');
    parts.pop();
    let cur = '';
    for (const part of parts) {
      cur = cur ? `${cur}/${part}` : part;
      if (this.dirs.has(cur)) continue;
      const st = await lstatOrNull(this.abs(cur));
      if (st === null) {
        this.mkdirImplicit(cur);
      } else if (!st.isDirectory()) {
        const what = st.isSymbolicLink() ? 'a symlink' : 'not a directory';
        throw new UserError(
          `refusing layer tar entry ${JSON.stringify(entry)}: ${cur} is ${what}, writing through it could leave the layer`,
        );
      }
      this.dirs.add(cur);
    }
  }

  /** Checks, without creating anything, that `rel`'s ancestors are verified real directories. */
  async checkParent(rel: string, entry: string): Promise<boolean> {
    const parts = rel.split('/');
    parts.pop();
    let cur = '';
    for (const part of parts) {
      cur = cur ? `${cur}/${part}` : part;
      if (this.dirs.has(cur)) continue;
      const st = await lstatOrNull(this.abs(cur));
      if (st === null) return false;
      if (!st.isDirectory())
        throw new UserError(`refusing layer tar entry ${JSON.stringify(entry)}: ${cur} is not a directory`);
      this.dirs.add(cur);
    }
    return true;
  }

  markDir(rel: string): void {
    this.dirs.add(rel);
  }

  /** Removes whatever is at `rel` (a whole subtree for a dir); returns what was there. */
  async remove(rel: string): Promise<BigIntStats | null> {
    const st = await lstatOrNull(this.abs(rel));
    if (st === null) return null;
    // rm never follows symlinks inside the tree; unlink removes a link itself.
    if (st.isDirectory()) rmSync(this.abs(rel), { recursive: true, force: true });
    else unlinkSync(this.abs(rel));
    this.forget(rel);
    return st;
  }

  forget(rel: string): void {
    for (const d of this.dirs) if (isAtOrUnder(d, rel)) this.dirs.delete(d);
  }
}

export function isAtOrUnder(path: string, rel: string): boolean {
  return rel === '' || path === rel || path.startsWith(`${rel}/`);
}

/**
 * Synchronous inside: an unpack asks this for nearly every entry, mostly of paths that do not
 * exist yet, and a thread-pool round trip plus a rejected promise cost far more than the lstat.
 */
export async function lstatOrNull(path: string): Promise<BigIntStats | null> {
  try {
    return lstatSync(path, { bigint: true, throwIfNoEntry: false }) ?? null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}
