import { ownerToken } from '../../store/owner.js';
import { markRuntimeDir } from '../../cache/sweep.js';
import { UserError } from '../../errors.js';
import { runContainer } from '../../executor/run-container.js';
import { checkEmulator } from '../../executor/binfmt.js';
import { defaultPlatform } from '../../registry/platform.js';
import { prepareMounts } from './exec-mounts.js';
import type { ExecOp, Vertex } from '../graph.js';
import type { OpRun, VertexResult } from './op-context.js';
import { withContainerRoot } from './container-root-of-chain.js';

export async function runExec(vertex: Vertex, op: ExecOp, run: OpRun): Promise<VertexResult> {
  const { ctx } = run;
  const parent = run.inputs[0]!.layers;
  // another platform's RUN goes through the kernel's emulator: say plainly when there is none
  if (op.platform) await checkEmulator(op.platform, defaultPlatform().architecture);
  // before anything of this build lands in the runtime dir: siblings sweep it only under our lock
  await markRuntimeDir(ctx.paths);
  await ctx.snapshots.create(
    run.snapshotId,
    async (pending) => {
      const mounts = await prepareMounts(op, run, run.selections);
      const result = await withContainerRoot(ctx, parent, pending, (root) =>
        runContainer({
          root,
          args: op.args,
          env: [...op.env, ...(op.proxyEnv ?? []), ...mounts.env],
          mounts: mounts.mounts,
          cwd: op.cwd,
          user: op.user,
          network: op.network,
          ...(op.security ? { security: op.security } : {}),
          ...(op.files ? { files: op.files } : {}),
          ...(op.extraHosts ? { extraHosts: op.extraHosts } : {}),
          ...(op.shmSize !== undefined ? { shmSize: op.shmSize } : {}),
          ...(op.ulimits ? { ulimits: op.ulimits } : {}),
          bundleParent: ctx.paths.runtimeTmp,
          runcRoot: ctx.paths.runc,
          owner: ownerToken(),
          onOutput: (chunk, stream) => run.onLog(stream, chunk.toString('utf8')),
          signal: ctx.signal,
        }),
      ).finally(() => mounts.release());
      // before the exit code: a command killed by cancellation did not fail
      if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('cancelled');
      if (result.exitCode !== 0) {
        throw new UserError(`${vertex.name} failed: the command exited with code ${result.exitCode}`, {
          ...(vertex.location ? { location: vertex.location } : {}),
          ...(result.hint ? { hint: result.hint } : {}),
          detail: result.outputTail.length
            ? `last ${result.outputTail.length} lines of output:\n${result.outputTail.map((l) => `  > ${l}`).join('\n')}`
            : '(the step printed nothing)',
        });
      }
    },
    { signal: ctx.signal },
  );
  return { layers: [...parent, run.snapshotId] };
}
