import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree } from '../process/remove-tree.js';
import { materialiseChain } from './tree-copy.js';
import { OWNER_XATTR, ownerXattrValue, processIdMapping } from './id-mapping.js';
import { diffTrees, statTree, writeDiff, type TreeStats } from './tree-diff.js';
import { readXattrs, writeXattrs, type XattrWrite } from './xattrs.js';

/**
 * A layer chain as a plain directory tree tsbuild copied itself, for where nothing may be mounted
 * (isolation chroot): what overlayfs does at mount time (merge) and at upper-dir time (record
 * what changed) is done here by copying and by diffing the tree's stats before and after.
 */
export interface TreeRootfs {
  path: string;
  /** The stats of the tree as made (the diff's "before"); `rebase` takes them again. */
  before: TreeStats;
  /** Takes `before` again: what the caller did since is not the step's (mount point stubs). */
  rebase(): Promise<void>;
  /**
   * Writes what changed since `before`, outside `excluded` (paths relative to the tree), into `upper`.
   * `newOwner`: the image owner of what the step made, where the build records owners (a user other
   * than root: the step's files are that user's on disk, whoever the step ran as).
   */
  commit(upper: string, excluded?: readonly string[], newOwner?: ImageOwner): Promise<void>;
  release(): Promise<void>;
}

export async function makeTreeRootfs(scratchParent: string, lowerDirs: readonly string[]): Promise<TreeRootfs> {
  const path = join(scratchParent, `tree-${randomBytes(6).toString('hex')}`);
  await mkdir(path, { recursive: true });
  try {
    await materialiseChain(lowerDirs, path);
    const tree: TreeRootfs = {
      path,
      before: await statTree(path),
      async rebase() {
        tree.before = await statTree(path);
      },
      async commit(upper, excluded = [], newOwner) {
        const after = await statTree(path);
        const diff = diffTrees(tree.before, after, excluded);
        await writeDiff(path, diff, upper);
        if (newOwner) await recordNewOwners(tree.before, after, diff.changed, upper, newOwner);
      },
      release: () => removeTree(path),
    };
    return tree;
  } catch (err) {
    await removeTree(path);
    throw err;
  }
}

/**
 * Runs `fn` on a copy of the chain and, when it succeeds, writes what it changed into `upper`
 * (outside the paths `fn` returns in `excluded`, if it sets them on the tree); always removes the copy.
 */
export async function withTreeRootfs<T>(
  ctx: { paths: { tmp: string }; snapshots: { lowerDirs(chain: string[]): string[] } },
  layers: string[],
  upper: string,
  fn: (tree: TreeRootfs, setExcluded: (paths: readonly string[], newOwner?: ImageOwner) => void) => Promise<T>,
): Promise<T> {
  const tree = await makeTreeRootfs(ctx.paths.tmp, ctx.snapshots.lowerDirs(layers));
  let excluded: readonly string[] = [];
  let newOwner: ImageOwner | undefined;
  try {
    const result = await fn(tree, (paths, owner) => {
      excluded = paths;
      newOwner = owner;
    });
    await tree.commit(upper, excluded, newOwner);
    return result;
  } finally {
    await tree.release();
  }
}

export interface ImageOwner {
  uid: number;
  gid: number;
}

/**
 * Gives what a step made (new entries, and entries made again: a new inode) the step user's image
 * owner, where the mapping records owners and the entry has none recorded (one moved keeps its own).
 * Symlinks cannot carry it: theirs stays root.
 */
async function recordNewOwners(
  before: TreeStats,
  after: TreeStats,
  changed: readonly string[],
  upper: string,
  owner: ImageOwner,
): Promise<void> {
  const value = ownerXattrValue(processIdMapping(), owner.uid, owner.gid);
  if (!value) return;
  const made = changed.filter((rel) => {
    const a = after.get(rel)!;
    const b = before.get(rel);
    return a.link === undefined && (!b || b.ino !== a.ino || b.birth !== a.birth);
  });
  if (!made.length) return;
  const paths = made.map((rel) => join(upper, rel));
  const recorded = await readXattrs(paths, `^${OWNER_XATTR.replaceAll('.', '\\.')}$`);
  const writes: XattrWrite[] = paths
    .filter((p) => !recorded.get(p)?.has(OWNER_XATTR))
    .map((p) => ({ path: p, name: OWNER_XATTR, value }));
  if (writes.length) await writeXattrs(writes);
}
