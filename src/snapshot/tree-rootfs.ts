import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree } from '../process/remove-tree.js';
import { materialiseChain } from './tree-copy.js';
import { diffTrees, statTree, writeDiff, type TreeStats } from './tree-diff.js';

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
  /** Writes what changed since `before`, outside `excluded` (paths relative to the tree), into `upper`. */
  commit(upper: string, excluded?: readonly string[]): Promise<void>;
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
      async commit(upper, excluded = []) {
        await writeDiff(path, diffTrees(tree.before, await statTree(path), excluded), upper);
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
  fn: (tree: TreeRootfs, setExcluded: (paths: readonly string[]) => void) => Promise<T>,
): Promise<T> {
  const tree = await makeTreeRootfs(ctx.paths.tmp, ctx.snapshots.lowerDirs(layers));
  let excluded: readonly string[] = [];
  try {
    const result = await fn(tree, (paths) => {
      excluded = paths;
    });
    await tree.commit(upper, excluded);
    return result;
  } finally {
    await tree.release();
  }
}
