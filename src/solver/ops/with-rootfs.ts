import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mountedRoot, NeedsMountedRoot, readRootFile, type ContainerRoot } from '../../executor/container-root.js';
import { lookupInChain } from '../../snapshot/lower-lookup.js';
import { mountOverlay, rootOverlayOptions, unmount } from '../../snapshot/overlay.js';
import type { PendingSnapshot } from '../../snapshot/snapshot-store.js';
import type { SolveContext } from './op-context.js';

interface MountedRootfs {
  path: string;
  release(): Promise<void>;
}

/** Mounts a layer chain (bottom first) at a fresh mount point, writes going to `upper` when given. */
async function mountChain(
  ctx: SolveContext,
  layers: string[],
  upper?: { upperDir: string; workDir: string },
): Promise<MountedRootfs> {
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
 * Mounts a layer chain (bottom first) as one rootfs, writable into `pending` when given, runs
 * `fn` on the mount point and always unmounts.
 */
export async function withRootfs<T>(
  ctx: SolveContext,
  layers: string[],
  pending: PendingSnapshot | undefined,
  fn: (root: string) => Promise<T>,
): Promise<T> {
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
export async function acquireRootfs(ctx: SolveContext, layers: string[], writable: boolean): Promise<MountedRootfs> {
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

/**
 * Runs `fn` on the root of a RUN step: the layer chain with writes going to `pending`. Where it
 * can, runc mounts that overlay itself, inside the container (no mount and umount processes, and
 * nothing left mounted if the build dies), and the few files tsbuild reads first are looked up
 * in the layer dirs. Otherwise (too many layers for one mount call, a symlink on the way to a
 * looked-up path) the chain is mounted on the host as before.
 */
export async function withContainerRoot<T>(
  ctx: SolveContext,
  layers: string[],
  pending: PendingSnapshot,
  fn: (root: ContainerRoot) => Promise<T>,
): Promise<T> {
  const direct = layerChainRoot(ctx, layers, pending);
  if (direct) {
    try {
      return await fn(direct);
    } catch (err) {
      if (!(err instanceof NeedsMountedRoot)) throw err;
    }
  }
  return withRootfs(ctx, layers, pending, (path) => fn(mountedRoot(path)));
}

function layerChainRoot(ctx: SolveContext, layers: string[], pending: PendingSnapshot): ContainerRoot | undefined {
  const lowers = ctx.snapshots.lowerDirs(layers);
  const overlay = rootOverlayOptions({ lowerDirs: lowers, upperDir: pending.fs, workDir: pending.work });
  if (!overlay) return undefined;
  // runc mounts the overlay over this dir in the container's own mount namespace: it stays empty
  // on the host and every run can share it.
  const path = join(ctx.paths.tmp, 'empty-root');
  mkdirSync(path, { recursive: true });
  const symlinked = (rel: string) => new NeedsMountedRoot(`a symlink on the way to /${rel}`);
  return {
    path,
    overlay,
    writableDir: pending.fs,
    async readFile(rel) {
      const state = (await lookupInChain(lowers, [rel])).get(rel)!;
      if (state.kind === 'absent') {
        if (state.viaSymlink) throw symlinked(rel);
        return undefined;
      }
      if (state.stat.isSymbolicLink()) throw symlinked(rel);
      return readRootFile(join(state.layer, rel), rel);
    },
    async absent(paths) {
      const rels = paths.map((p) => p.replace(/^\/+/, ''));
      const states = await lookupInChain(lowers, rels);
      const out = new Set<string>();
      paths.forEach((p, i) => {
        const state = states.get(rels[i]!)!;
        if (state.kind !== 'absent') return;
        if (state.viaSymlink) throw symlinked(rels[i]!);
        out.add(p);
      });
      return out;
    },
  };
}
