import { chmodSync, chownSync, lstatSync, mkdirSync, utimesSync, type BigIntStats } from 'node:fs';
import { join, posix } from 'node:path';
import { lookupInChain } from './lower-lookup.js';
import { isPortableXattr } from './overlay-format.js';
import { readXattrs } from './xattrs.js';

/**
 * Readies a fresh upper dir for writes at `path` (absolute in the rootfs) exactly as overlayfs
 * would leave it, without mounting the chain: when no layer below has anything at `path`, a write
 * there through a mount only copies up the directories on the way (same mode, owner and times,
 * and their xattrs) and creates the rest in the upper dir. Those copied-up directories are made
 * here, so a COPY into a new path writes straight into the upper dir, with no mount and umount.
 *
 * Returns false, having written nothing, wherever only overlayfs itself gets the result right:
 * `path` (or a directory on the way) exists below or is whited out there (overlay would make a
 * directory created over a whiteout opaque), a symlink or a non-directory is on the way, or a
 * directory on the way carries xattrs the layer's tar would keep.
 */
export async function copyUpForNewPath(lowerDirs: string[], upperDir: string, path: string): Promise<boolean> {
  const parts = posix.normalize(path).split('/').filter(Boolean);
  if (parts.length === 0) return false;
  const rels = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  const states = await lookupInChain(lowerDirs, rels);
  const copied: { rel: string; stat: BigIntStats; lower: string }[] = [];
  for (const [i, rel] of rels.entries()) {
    const state = states.get(rel)!;
    if (state.kind === 'dir' && i < rels.length - 1) {
      copied.push({ rel, stat: state.stat, lower: join(state.layer, rel) });
      continue;
    }
    if (state.kind !== 'absent' || state.viaSymlink || lowerDirs.some((l) => hasEntry(join(l, rel)))) return false;
    // Nothing in any layer has this path, so nothing has anything under it either.
    break;
  }
  if (copied.length) {
    const xattrs = await readXattrs(
      copied.map((c) => c.lower),
      '-',
    );
    for (const attrs of xattrs.values()) for (const name of attrs.keys()) if (isPortableXattr(name)) return false;
  }
  for (const c of copied) {
    const dir = join(upperDir, c.rel);
    mkdirSync(dir);
    chownSync(dir, Number(c.stat.uid), Number(c.stat.gid));
    // after chown, which clears set-id bits
    chmodSync(dir, Number(c.stat.mode & 0o7777n));
  }
  // Times last: making a directory inside its parent changed the parent's. Overlay's copy-up
  // keeps them too; only what the copy creates later touches them again.
  for (const c of copied) utimesSync(join(upperDir, c.rel), nsToSeconds(c.stat.atimeNs), nsToSeconds(c.stat.mtimeNs));
  return true;
}

function hasEntry(abs: string): boolean {
  try {
    return lstatSync(abs, { throwIfNoEntry: false }) !== undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw err;
  }
}

function nsToSeconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}
