import { randomBytes } from 'node:crypto';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mountOverlay, unmount } from './overlay.js';
import { makeTreeRootfs, withTreeRootfs } from './tree-rootfs.js';
import type { PendingSnapshot, SnapshotStore } from './snapshot-store.js';

/** What mounting a chain needs: the snapshots, and a scratch dir for mount points (a SolveContext has both). */
export interface ChainMountContext {
  snapshots: SnapshotStore;
  paths: { tmp: string };
  /**
   * Nothing may be mounted (isolation chroot): a chain is copied into a plain tree instead, and a
   * writable one's changes are found by diffing it (tree-rootfs.ts).
   */
  mountFree?: boolean;
}

export interface MountedRootfs {
  path: string;
  release(): Promise<void>;
}

/** Mounts a layer chain (bottom first) at a fresh mount point, writes going to `upper` when given. */
async function mountChain(
  ctx: ChainMountContext,
  layers: string[],
  upper?: { upperDir: string; workDir: string },
): Promise<MountedRootfs> {
  if (ctx.mountFree) {
    // a copy is writable anyway: writes to a read-only view or a scratch one go nowhere after release
    const tree = await makeTreeRootfs(ctx.paths.tmp, ctx.snapshots.lowerDirs(layers));
    return { path: tree.path, release: () => tree.release() };
  }
  const target = join(ctx.paths.tmp, `mnt-${randomBytes(6).toString('hex')}`);
  await mkdir(target, { recursive: true });
  try {
    // volatile: no sync of the whole filesystem at unmount (see VOLATILE_SUPPORTED); upper and
    // work dirs are always fresh, never mounted a second time.
    await mountOverlay({ lowerDirs: ctx.snapshots.lowerDirs(layers), target, ...(upper ?? {}), volatile: true });
  } catch (err) {
    await rmdir(target).catch(() => {});
    throw err;
  }
  return {
    path: target,
    release: async () => {
      try {
        await unmount(target);
      } finally {
        await rmdir(target).catch(() => {});
      }
    },
  };
}

/**
 * Mounts a layer chain (bottom first) as one rootfs, writable into `pending` when given (else
 * read-only), runs `fn` on the mount point and always unmounts.
 */
export async function withRootfs<T>(
  ctx: ChainMountContext,
  layers: string[],
  pending: PendingSnapshot | undefined,
  fn: (root: string) => Promise<T>,
): Promise<T> {
  if (ctx.mountFree && pending) return withTreeRootfs(ctx, layers, pending.fs, (tree) => fn(tree.path));
  const mounted = await mountChain(ctx, layers, pending ? { upperDir: pending.fs, workDir: pending.work } : undefined);
  try {
    return await fn(mounted.path);
  } finally {
    await mounted.release();
  }
}

/**
 * A mounted chain held open until `release` (for RUN --mount=from=…, which lives as long as the
 * run). Writable: writes go to a scratch upper dir that `release` throws away.
 */
export async function acquireRootfs(
  ctx: ChainMountContext,
  layers: string[],
  writable: boolean,
): Promise<MountedRootfs> {
  if (!writable) return mountChain(ctx, layers);
  const scratch = join(ctx.paths.tmp, `scratch-${randomBytes(6).toString('hex')}`);
  await mkdir(join(scratch, 'upper'), { recursive: true });
  await mkdir(join(scratch, 'work'), { recursive: true });
  let mounted: MountedRootfs;
  try {
    mounted = await mountChain(ctx, layers, { upperDir: join(scratch, 'upper'), workDir: join(scratch, 'work') });
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    throw err;
  }
  return {
    path: mounted.path,
    release: async () => {
      try {
        await mounted.release();
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
  };
}
