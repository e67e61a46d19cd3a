import { chmod, chown, lstat, mkdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { resolveUser } from '../../executor/user.js';
import { resolveInRoot } from '../../snapshot/resolve-in-root.js';
import type { MkdirOp } from '../graph.js';
import type { OpRun, VertexResult } from './op-context.js';
import { withRootfs } from './with-rootfs.js';

/** WORKDIR: mkdir -p, new directories owned by the USER in effect, existing ones untouched. */
export async function runMkdir(op: MkdirOp, run: OpRun): Promise<VertexResult> {
  const { ctx } = run;
  const parent = run.inputs[0]!.layers;
  const pending = await ctx.snapshots.prepare(run.snapshotId);
  try {
    await withRootfs(ctx, parent, pending, async (root) => {
      const owner = op.user ? await resolveUser(root, op.user, `WORKDIR ${op.path} (USER ${op.user})`, false) : { uid: 0, gid: 0 };
      let current = '/';
      for (const part of op.path.split('/').filter(Boolean)) {
        current = posix.join(current, part);
        const host = await resolveInRoot(root, current);
        try {
          await lstat(host);
        } catch {
          await mkdir(host);
          await chmod(host, op.mode);
          await chown(host, owner.uid, owner.gid);
        }
      }
    });
    await ctx.snapshots.commit(pending);
  } catch (err) {
    await ctx.snapshots.discard(pending);
    throw err;
  }
  return { layers: [...parent, run.snapshotId] };
}
