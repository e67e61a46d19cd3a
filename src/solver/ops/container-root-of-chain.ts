import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { mountedRoot, NeedsMountedRoot, readRootFile, type ContainerRoot } from '../../executor/container-root.js';
import { lookupInChain } from '../../snapshot/lower-lookup.js';
import { withRootfs, type ChainMountContext } from '../../snapshot/mount-chain.js';
import { rootOverlayOptions } from '../../snapshot/overlay.js';
import type { PendingSnapshot } from '../../snapshot/snapshot-store.js';

/**
 * Runs `fn` on the root of a RUN step: the layer chain with writes going to `pending`. Where it
 * can, runc mounts that overlay itself, inside the container (no mount and umount processes, and
 * nothing left mounted if the build dies), and the few files tsbuild reads first are looked up
 * in the layer dirs. Otherwise (too many layers for one mount call, a symlink on the way to a
 * looked-up path) the chain is mounted on the host as before. `tsbuild run` roots its containers
 * here too (a SolveContext is a ChainMountContext).
 */
export async function withContainerRoot<T>(
  ctx: ChainMountContext,
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

function layerChainRoot(ctx: ChainMountContext, layers: string[], pending: PendingSnapshot): ContainerRoot | undefined {
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
    async absent(paths, symlinks) {
      const rels = paths.map((p) => p.replace(/^\/+/, ''));
      const states = await lookupInChain(lowers, rels);
      const out = new Set<string>();
      paths.forEach((p, i) => {
        const state = states.get(rels[i]!)!;
        if (state.kind !== 'absent') {
          if (state.stat.isSymbolicLink()) symlinks?.add(p);
          return;
        }
        if (state.viaSymlink) throw symlinked(rels[i]!);
        out.add(p);
      });
      return out;
    },
  };
}
