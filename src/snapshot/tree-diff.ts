import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { chmod, lchown, lutimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { chunkArgs, runToolChecked } from '../process/run-tool.js';
import { OPAQUE_VALUE, OPAQUE_XATTR } from './overlay-format.js';
import { readXattrs, writeXattrs, type XattrWrite } from './xattrs.js';

/** What tells a changed entry from an unchanged one: anything overlayfs would copy up for changes one of these. */
export interface EntryStat {
  dir: boolean;
  ino: bigint;
  /** A dir removed and made again may get the same inode number at once (ext4 does): its birth time differs. */
  birth: bigint;
  /** ctime moves on chmod, chown, a new xattr or link, as well as on writes. */
  ctime: bigint;
  mtime: bigint;
  size: bigint;
  mode: bigint;
  uid: bigint;
  gid: bigint;
  rdev: bigint;
  link?: string;
}

/** path relative to the tree ('' is its root) → its stat. */
export type TreeStats = Map<string, EntryStat>;

/**
 * The stat of every entry under `tree`, symlinks not followed. Synchronous: thread-pool round trips
 * for each of a rootfs' thousands of small calls cost more than the calls (a 300-entry busybox
 * tree: 60-80 ms async, a few ms sync).
 */
export async function statTree(tree: string): Promise<TreeStats> {
  const out: TreeStats = new Map();
  const visit = (rel: string): void => {
    const abs = rel ? join(tree, rel) : tree;
    const st = lstatSync(abs, { bigint: true });
    const e: EntryStat = {
      dir: st.isDirectory(),
      ino: st.ino,
      birth: st.birthtimeNs,
      ctime: st.ctimeNs,
      mtime: st.mtimeNs,
      size: st.size,
      mode: st.mode,
      uid: st.uid,
      gid: st.gid,
      rdev: st.rdev,
    };
    if (st.isSymbolicLink()) e.link = readlinkSync(abs);
    out.set(rel, e);
    if (e.dir) for (const name of readdirSync(abs)) visit(rel ? `${rel}/${name}` : name);
  };
  visit('');
  return out;
}

const sameEntry = (a: EntryStat, b: EntryStat): boolean =>
  a.dir === b.dir &&
  a.ino === b.ino &&
  a.birth === b.birth &&
  a.ctime === b.ctime &&
  a.mtime === b.mtime &&
  a.size === b.size &&
  a.mode === b.mode &&
  a.uid === b.uid &&
  a.gid === b.gid &&
  a.rdev === b.rdev &&
  a.link === b.link;

/** A step's effect on a tree, as overlayfs' upper dir would hold it. */
export interface TreeDiff {
  /** Entries new or changed (their content, owner, mode or times), parents first. */
  changed: string[];
  /** Dirs that are in `changed` only because something below them is. */
  parents: string[];
  /** Paths that were there and are not (the topmost of a removed subtree): whiteouts. */
  removed: string[];
  /** Dirs removed (or replaced) and made again: opaque, hiding all that was below. */
  opaque: string[];
}

const isUnder = (rel: string, roots: readonly string[]): boolean =>
  roots.some((r) => rel === r || rel.startsWith(`${r}/`));

/**
 * What changed from `before` to `after`, ignoring everything at or under `excluded` (relative
 * paths: the mount points, whose writes never reach the layer in the other modes).
 */
export function diffTrees(before: TreeStats, after: TreeStats, excluded: readonly string[] = []): TreeDiff {
  const changed = new Set<string>();
  const opaque = new Set<string>();
  const removed: string[] = [];
  for (const [rel, a] of after) {
    if (rel === '' || isUnder(rel, excluded)) continue;
    const b = before.get(rel);
    if (b && sameEntry(a, b)) continue;
    changed.add(rel);
    if (a.dir && b && (!b.dir || b.ino !== a.ino || b.birth !== a.birth)) opaque.add(rel);
  }
  for (const rel of before.keys()) {
    if (rel === '' || after.has(rel) || isUnder(rel, excluded)) continue;
    const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
    // below a removed dir, or below one made again (opaque hides it): nothing to say
    if (parent !== '' && (!after.has(parent) || opaque.has(parent) || !before.get(parent)?.dir)) continue;
    if (parent !== '' && !after.get(parent)!.dir) continue;
    removed.push(rel);
  }
  // an entry of a new or opaque dir needs nothing else; any other needs its parents in the layer
  const parents = new Set<string>();
  for (const rel of [...changed, ...removed])
    for (let p = posix.dirname(rel); p !== '.'; p = posix.dirname(p)) if (!changed.has(p)) parents.add(p);
  const byDepth = (a: string, b: string) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1);
  return {
    changed: [...changed].sort(byDepth),
    parents: [...parents].sort(byDepth),
    removed: removed.sort(byDepth),
    opaque: [...opaque].sort(byDepth),
  };
}

/**
 * Writes a diff into `upper` (an empty layer dir) in overlay format, as overlayfs would have left
 * it: changed files copied whole (hard links among them kept), dirs with their owner, mode and
 * times, removed paths as 0/0 char devices, opaque dirs marked.
 */
export async function writeDiff(tree: string, diff: TreeDiff, upper: string): Promise<void> {
  // dirs first (each made without its content), then the rest in one cp per batch so links hold
  const allDirs = new Set<string>(diff.parents);
  const nonDirs: string[] = [];
  for (const rel of diff.changed) {
    if ((await lstat(join(tree, rel))).isDirectory()) allDirs.add(rel);
    else nonDirs.push(rel);
  }
  const sortedDirs = [...allDirs].sort((a, b) => a.split('/').length - b.split('/').length);
  for (const rel of sortedDirs) await mkdir(join(upper, rel), { recursive: true });
  for (const group of chunkArgs(nonDirs))
    await runToolChecked('cp', ['-a', '--parents', '-t', upper, '--', ...group], { cwd: tree });
  if (diff.removed.length) {
    const script = 'for p; do mknod -m 000 -- "$p" c 0 0 || exit 1; done';
    for (const group of chunkArgs(diff.removed.map((r) => join(upper, r))))
      await runToolChecked('sh', ['-c', script, 'sh', ...group]);
  }
  // xattrs of the dirs (the files' came with cp), and the opaque marks
  const writes: XattrWrite[] = [];
  const dirXattrs = sortedDirs.length
    ? await readXattrs(
        sortedDirs.map((r) => join(tree, r)),
        '-',
      )
    : new Map();
  for (const rel of sortedDirs)
    for (const [name, value] of dirXattrs.get(join(tree, rel)) ?? new Map<string, Buffer>())
      writes.push({ path: join(upper, rel), name, value });
  for (const rel of diff.opaque)
    writes.push({ path: join(upper, rel), name: OPAQUE_XATTR, value: Buffer.from(OPAQUE_VALUE) });
  if (writes.length) await writeXattrs(writes);
  // owners, modes and times of the dirs last, deepest first: writing below a dir moves its mtime
  for (const rel of sortedDirs.reverse()) {
    const st = await lstat(join(tree, rel));
    const dst = join(upper, rel);
    await lchown(dst, st.uid, st.gid);
    await chmod(dst, st.mode & 0o7777);
    await lutimes(dst, st.atime, st.mtime);
  }
}
