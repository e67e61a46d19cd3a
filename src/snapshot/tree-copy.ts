import { chmodSync, lstatSync, readdirSync } from 'node:fs';
import { lstat, rm, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runToolChecked } from '../process/run-tool.js';
import { isPortableXattr, isWhiteoutStat, OPAQUE_VALUE, OPAQUE_XATTR } from './overlay-format.js';
import { dumpXattrTree, writeXattrs, type XattrWrite } from './xattrs.js';

/**
 * Makes `tree` (an empty dir) the merged view of a layer chain as overlayfs would show it, with
 * no mount: each layer dir (`lowerDirs` top first, as overlay takes them) is copied over the
 * layers below, its whiteouts deleting and its opaque dirs emptying what they hide. A real copy,
 * never hard links: a step writing a linked file would change the layer below.
 */
export async function materialiseChain(lowerDirs: readonly string[], tree: string): Promise<void> {
  for (const layer of [...lowerDirs].reverse()) await applyLayer(layer, tree);
}

async function applyLayer(layer: string, tree: string): Promise<void> {
  const xattrs = await dumpXattrTree(layer);
  const whiteouts: string[] = [];
  const replaced: string[] = [];
  // dirs of the tree this layer writes into that their owner may not write (an image's 0555 dir):
  // root writes there anyway, another user (isolation chroot under proot) must open them first;
  // cp -a then gives them the layer's mode, as overlay shows the upper dir's
  const closed: string[] = [];
  // what the layer hides below: whiteouts, opaque dirs, and entries whose kind changes (a dir
  // over a file or a file over a dir, which cp would refuse to merge)
  // synchronous, as statTree: a layer's many small calls cost more as thread-pool round trips
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(layer, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(layer, r));
      if (isWhiteoutStat(st)) {
        whiteouts.push(r);
        continue;
      }
      const below = lstatSync(join(tree, r), { throwIfNoEntry: false });
      const opaque = st.isDirectory() && xattrs.get(r)?.get(OPAQUE_XATTR)?.toString() === OPAQUE_VALUE;
      if (below && (opaque || below.isDirectory() !== st.isDirectory())) replaced.push(r);
      if (below?.isDirectory() && st.isDirectory() && (below.mode & 0o700) !== 0o700) closed.push(r);
      if (st.isDirectory() && (!below || below.isDirectory() || opaque)) walk(r);
    }
  };
  walk('');
  const top = lstatSync(tree);
  if ((top.mode & 0o700) !== 0o700) closed.push('');
  if (process.geteuid?.() !== 0)
    for (const r of closed) {
      const abs = r ? join(tree, r) : tree;
      chmodSync(abs, (lstatSync(abs).mode & 0o7777) | 0o700);
    }
  for (const r of [...whiteouts, ...replaced]) await rm(join(tree, r), { recursive: true, force: true });
  // xattrs are left to the restore below: overlay's own (opaque, origin, impure) must not come along.
  // Hard links of the layers are not kept: overlay breaks them too (a write through one path
  // copies up that path alone), and a diff would otherwise see every path of a changed inode.
  await runToolChecked('cp', [
    '-a',
    '--no-preserve=xattr,links',
    '--remove-destination',
    '--no-target-directory',
    '--',
    `${layer}/.`,
    `${tree}/.`,
  ]);
  // cp copied the whiteouts as device nodes: removed, and their dirs' times put back to the layer's
  for (const r of whiteouts) await rm(join(tree, r), { force: true });
  for (const dir of new Set(whiteouts.map((r) => dirname(r)))) {
    const st = await lstat(join(layer, dir));
    await utimes(join(tree, dir), st.atime, st.mtime);
  }
  const writes: XattrWrite[] = [];
  for (const [rel, attrs] of xattrs)
    for (const [name, value] of attrs)
      if (isPortableXattr(name)) writes.push({ path: rel ? join(tree, rel) : tree, name, value });
  if (writes.length) await writeXattrs(writes);
}
