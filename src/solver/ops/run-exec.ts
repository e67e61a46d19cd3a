import { ownerToken } from '../../store/owner.js';
import { markRuntimeDir } from '../../cache/sweep.js';
import { UserError } from '../../errors.js';
import { runContainer, type RunResult } from '../../executor/run-container.js';
import { runChroot } from '../../executor/run-chroot.js';
import { withTreeRootfs } from '../../snapshot/tree-rootfs.js';
import type { StepUsage } from '../../executor/step-usage.js';
import { binaryBytes } from '../../binary-bytes.js';
import { checkEmulator } from '../../executor/binfmt.js';
import { defaultPlatform } from '../../registry/platform.js';
import { cdiDeviceEnv } from '../../executor/cdi-devices.js';
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
      if (ctx.mountFree) {
        await runChrootStep(vertex, op, run, pending.fs);
        return;
      }
      const mounts = await prepareMounts(op, run, run.selections);
      const deviceEnv = await devicesEnv(op);
      const result = await withContainerRoot(ctx, parent, pending, (root) =>
        runContainer({
          root,
          args: op.args,
          env: withOverrides(op.env, [...(op.proxyEnv ?? []), ...mounts.env, ...deviceEnv]),
          mounts: mounts.mounts,
          cwd: op.cwd,
          user: op.user,
          network: op.network,
          ...(op.security ? { security: op.security } : {}),
          ...(op.files ? { files: op.files } : {}),
          ...(op.extraHosts ? { extraHosts: op.extraHosts } : {}),
          ...(op.shmSize !== undefined ? { shmSize: op.shmSize } : {}),
          ...(op.ulimits ? { ulimits: op.ulimits } : {}),
          ...(op.hostname ? { hostname: op.hostname } : {}),
          ...(ctx.resources ? { resources: ctx.resources } : {}),
          bundleParent: ctx.paths.runtimeTmp,
          runcRoot: ctx.paths.runc,
          crunRoot: ctx.paths.crun,
          owner: ownerToken(),
          onOutput: (chunk, stream) => run.onLog(stream, chunk.toString('utf8')),
          signal: ctx.signal,
        }),
      ).finally(() => mounts.release());
      if (result.usage) run.onUsage?.(usageShown(result.usage));
      checkExit(vertex, op, run, result);
    },
    { signal: ctx.signal },
  );
  return { layers: [...parent, run.snapshotId] };
}

/** `base` with each `KEY=value` of `over` replacing the same KEY (a secret env= over an ENV of that name). */
function withOverrides(base: string[], over: string[]): string[] {
  if (!over.length) return base;
  const keys = new Set(over.map((e) => e.slice(0, e.indexOf('='))));
  return [...base.filter((e) => !keys.has(e.slice(0, e.indexOf('=')))), ...over];
}

function usageShown(u: StepUsage): { peakMemoryBytes?: number; cpuSeconds?: number } {
  return {
    ...(u.peakMemoryBytes !== undefined ? { peakMemoryBytes: u.peakMemoryBytes } : {}),
    ...(u.cpuSeconds !== undefined ? { cpuSeconds: u.cpuSeconds } : {}),
  };
}

/** Words for a step the kernel's OOM killer hit: the --memory limit when the build set one. */
function outOfMemory(limit: number | undefined): { message: string; hint: string } {
  return limit
    ? {
        message: `: killed by the kernel for exceeding its memory limit of ${binaryBytes(limit)} (--memory)`,
        hint: 'give the build more memory with --memory, or make the step use less',
      }
    : {
        message: ': killed by the kernel for running out of memory',
        hint: 'the machine, or a cgroup tsbuild runs in, had no more memory for the step',
      };
}

/**
 * isolation chroot: the step runs chrooted in a copy of its chain, and its layer is what changed
 * in the copy (tree-rootfs.ts); a failed step leaves nothing.
 */
async function runChrootStep(vertex: Vertex, op: ExecOp, run: OpRun, upper: string): Promise<void> {
  const { ctx } = run;
  await withTreeRootfs(ctx, run.inputs[0]!.layers, upper, async (tree, setExcluded) => {
    const mounts = await prepareMounts(op, run, run.selections);
    const result = await runChroot({
      tree: tree.path,
      args: op.args,
      env: withOverrides(op.env, [...(op.proxyEnv ?? []), ...mounts.env, ...(await devicesEnv(op))]),
      mounts: mounts.mounts,
      writeBack: (op.mounts ?? []).filter((m) => m.type === 'cache').map((m) => m.target),
      ...(op.security ? { security: op.security } : {}),
      cwd: op.cwd,
      user: op.user,
      network: op.network,
      ...(op.files ? { files: op.files } : {}),
      ...(op.extraHosts ? { extraHosts: op.extraHosts } : {}),
      ...(op.ulimits ? { ulimits: op.ulimits } : {}),
      ...(op.hostname ? { hostname: op.hostname } : {}),
      ...(ctx.resources ? { resources: ctx.resources } : {}),
      onOutput: (chunk, stream) => run.onLog(stream, chunk.toString('utf8')),
      signal: ctx.signal,
    }).finally(() => mounts.release());
    setExcluded(result.excluded, result.user);
    checkExit(vertex, op, run, result);
  });
}

/** Throws the step's failure: cancelled, or the command's exit code with the tail of its output. */
function checkExit(vertex: Vertex, op: ExecOp, run: OpRun, result: RunResult): void {
  const { ctx } = run;
  // before the exit code: a command killed by cancellation did not fail
  if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('cancelled');
  if (result.exitCode === 0) return;
  const oom = result.usage?.oomKills ? outOfMemory(ctx.resources?.memoryBytes) : undefined;
  // BuildKit's wording as the core (scripts and people search for it), the step's name before it
  throw new UserError(
    `${vertex.name} failed: process "${op.args.join(' ')}" did not complete successfully: exit code: ${result.exitCode}${oom?.message ?? ''}`,
    {
      ...(vertex.location ? { location: vertex.location } : {}),
      ...(oom ? { hint: oom.hint } : result.hint ? { hint: result.hint } : {}),
      detail: result.outputTail.length
        ? `last ${result.outputTail.length} lines of output:\n${result.outputTail.map((l) => `  > ${l}`).join('\n')}`
        : '(the step printed nothing)',
    },
  );
}

/** The variables RUN --device's CDI devices set, read from their specs when the step runs (as BuildKit's worker). */
function devicesEnv(op: ExecOp): Promise<string[]> {
  return op.devices?.length ? cdiDeviceEnv(op.devices) : Promise.resolve([]);
}
