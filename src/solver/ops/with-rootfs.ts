import { randomBytes } from 'node:crypto';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mountOverlay, unmount } from '../../snapshot/overlay.js';
import type { PendingSnapshot } from '../../snapshot/snapshot-store.js';
import type { SolveContext } from './op-context.js';

/**
 * Mounts a layer chain (bottom first) as one rootfs, writable into `pending` when given, runs
 * `fn` on the mount point and always unmounts.
 */
export async function withRootfs<T>(ctx: SolveContext, layers: string[], pending: PendingSnapshot | undefined, fn: (root: string) => Promise<T>): Promise<T> {
  const target = join(ctx.paths.tmp, `mnt-${randomBytes(6).toString('hex')}`);
  await mkdir(target, { recursive: true });
  const lowerDirs = layers.map((id) => ctx.snapshots.fsDir(id)).reverse();
  try {
    await mountOverlay({
      lowerDirs,
      target,
      ...(pending ? { upperDir: pending.fs, workDir: pending.work } : {}),
    });
    try {
      return await fn(target);
    } finally {
      await unmount(target);
    }
  } finally {
    await rmdir(target).catch(() => {});
  }
}

/** A mounted chain held open until `release` (for RUN --mount=from=…, which lives as long as the run). */
export async function acquireRootfs(ctx: SolveContext, layers: string[], writable: boolean): Promise<{ path: string; release(): Promise<void> }> {
  const id = randomBytes(6).toString('hex');
  const target = join(ctx.paths.tmp, `mnt-${id}`);
  const scratch = join(ctx.paths.tmp, `scratch-${id}`);
  await mkdir(target, { recursive: true });
  if (writable) {
    await mkdir(join(scratch, 'upper'), { recursive: true });
    await mkdir(join(scratch, 'work'), { recursive: true });
  }
  await mountOverlay({
    lowerDirs: layers.map((l) => ctx.snapshots.fsDir(l)).reverse(),
    target,
    ...(writable ? { upperDir: join(scratch, 'upper'), workDir: join(scratch, 'work') } : {}),
  });
  return {
    path: target,
    release: async () => {
      await unmount(target);
      await rmdir(target).catch(() => {});
      await rm(scratch, { recursive: true, force: true });
    },
  };
}
