import { resolveUser } from '../../executor/user.js';
import { mkdirAllInRoot } from '../../snapshot/mkdir-in-root.js';
import type { MkdirOp } from '../graph.js';
import type { OpRun, VertexResult } from './op-context.js';
import { withRootfs } from '../../snapshot/mount-chain.js';

/** WORKDIR: mkdir -p, new directories owned by the USER in effect, existing ones untouched. */
export async function runMkdir(op: MkdirOp, run: OpRun): Promise<VertexResult> {
  const { ctx } = run;
  const parent = run.inputs[0]!.layers;
  await ctx.snapshots.create(run.snapshotId, (pending) =>
    withRootfs(ctx, parent, pending, async (root) => {
      const owner = op.user
        ? await resolveUser(root, op.user, `WORKDIR ${op.path} (USER ${op.user})`, false)
        : { uid: 0, gid: 0 };
      await mkdirAllInRoot(root, op.path, {
        ...owner,
        mode: op.mode,
        what: `WORKDIR ${op.path}`,
        ...(ctx.idMapping ? { idMapping: ctx.idMapping } : {}),
      });
    }),
  );
  return { layers: [...parent, run.snapshotId] };
}
