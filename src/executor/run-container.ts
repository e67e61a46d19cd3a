import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError } from '../errors.js';
import { missingTool } from '../process/missing-tool.js';
import { inUserNamespace } from '../process/user-namespace.js';
import { runAttached, type StartFailure } from './attached-runc.js';
import { runStepProcess } from './step-process.js';
import { runtimeLogErrors } from './runtime-log.js';
import type { ContainerRoot } from './container-root.js';
import { findMissingMountPoints, removeMountStubs } from './mount-stubs.js';
import { pidsLimitFromEnv } from './pids-limit.js';
import { stepCgroupsPath, type StepResources } from './resources.js';
import { runtimeSpec, SPEC_MOUNT_POINTS, toSpecJson } from './runtime-spec.js';
import { removeKeptContainer, swapAccounted, type StepUsage } from './step-usage.js';
import { resolveUser } from './user.js';
import { runcGlobalArgs } from './runc-args.js';
import { runcRefusal } from './runc-rights.js';
import { crunFor, giveUpCrun, type CrunTools } from './oci-runtime.js';
import { CrunSetupFailed, runCrun } from './crun-runner.js';
import { StepCgroup } from './step-cgroup.js';

export interface RunRequest {
  /** The root filesystem the process runs in. */
  root: ContainerRoot;
  args: string[];
  env: string[];
  cwd: string;
  user: string;
  network: 'host' | 'none';
  /** RUN --security; the caller has checked the build was allowed `insecure`. */
  security?: 'sandbox' | 'insecure';
  files?: { path: string; content: string; mode: number }[];
  /** RUN --mount mounts; their targets are cleaned out of the layer like runc's own mount points. */
  mounts?: import('./runtime-spec.js').OciMount[];
  /** A scratch dir for the bundle; removed afterwards. */
  bundleParent: string;
  /** runc's --root. */
  runcRoot: string;
  /** crun's --root: given, a step may run under crun (oci-runtime.ts says when). */
  crunRoot?: string;
  /**
   * Who runs the step (the build's owner token): part of the container's id and of its cgroup's
   * name, so a sweep can tell a dead build's leftovers from a running one's.
   */
  owner?: string;
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
  /** The container's hostname (default: BuildKit's, for RUN). */
  hostname?: string;
  /** `--add-host`: /etc/hosts lines after the standard ones. */
  extraHosts?: { host: string; ip: string }[];
  /** `--shm-size`: bytes of /dev/shm. */
  shmSize?: number;
  /** `--ulimit`. */
  ulimits?: { name: string; soft: string; hard: string }[];
  /** `--memory`, `--cpus`, `--cgroup-parent`, …: limits of the step's cgroup. */
  resources?: StepResources;
  /** Part of the runc container's id after the owner (default: random). */
  name?: string;
  /**
   * Attached to this process's stdio as `docker run` is (onOutput is not called): stdin passed
   * on, a terminal, signals forwarded (see attached-runc.ts).
   */
  attach?: { stdin: boolean; tty: boolean };
}

export interface RunResult {
  exitCode: number;
  /** The last lines of combined output, for error messages. */
  outputTail: string[];
  /** What a failure may have come from, when the output says (the pids limit). */
  hint?: string;
  /** Set when runc could not start the process at all (attached runs only). */
  startFailure?: StartFailure;
  /** What the step used, from its cgroup (not for attached runs). */
  usage?: StepUsage;
}

export const SANDBOX_HOSTNAME = 'buildkitsandbox';
/** How shells and runtimes report a failed fork or thread start (EAGAIN). */
const FORK_FAILED = /can't fork|cannot fork|fork: retry|Resource temporarily unavailable|pthread_create|EAGAIN/i;

/** BuildKit's hosts file: localhost and the hostname, then each --add-host as `IP<TAB>HOST`. */
function hostsFile(hostname: string, extra: readonly { host: string; ip: string }[] = []): string {
  return (
    `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n` +
    extra.map((h) => `${h.ip}\t${h.host}\n`).join('')
  );
}

/**
 * Runs one process under runc in a fresh bundle over `root`, and waits for it. A root that cannot
 * be looked into without a mount throws NeedsMountedRoot before runc starts.
 */
export async function runContainer(req: RunRequest): Promise<RunResult> {
  // Rootless mode gets no cgroup of its own: the host delegates none to the user here, and
  // runc --rootless refuses a cgroupsPath it cannot make (see README, Rootless).
  const rootless = inUserNamespace();
  if (rootless && req.resources && Object.keys(req.resources).length)
    throw new EnvironmentError(
      'rootless mode cannot limit RUN steps (--memory, --cpus, --cgroup-parent, …): it has no cgroup to set them in',
      {
        hint: 'build as root to set resource limits, or leave the limits out',
      },
    );
  // the pids limit: the step cgroup's pids.max as root, RLIMIT_NPROC rootless (runtime-spec.ts)
  const pidsLimit = pidsLimitFromEnv();
  const id = `tsbuild-${req.owner ? `${req.owner}-` : ''}${req.name ?? randomBytes(8).toString('hex')}`;
  const hostname = req.hostname ?? SANDBOX_HOSTNAME;
  const bundle = join(req.bundleParent, id);
  // The bundle's few small files are written synchronously: per RUN, thread-pool round trips
  // for them cost more than the calls, and a chain of RUN steps pays them in series.
  mkdirSync(bundle, { recursive: true });
  mkdirSync(req.runcRoot, { recursive: true });
  try {
    const user = await resolveUser(req.root, req.user, `USER ${req.user}`);
    const symlinks = new Set<string>();
    const stubs = await findMissingMountPoints(
      req.root,
      [...SPEC_MOUNT_POINTS, ...(req.mounts ?? []).map((m) => m.destination)],
      symlinks,
    );
    const hosts = join(bundle, 'hosts');
    writeFileSync(hosts, hostsFile(hostname, req.extraHosts));
    let pipesDir: string | undefined;
    if (req.files?.length) {
      pipesDir = join(bundle, 'pipes');
      mkdirSync(pipesDir);
      for (const f of req.files) writeFileSync(join(pipesDir, f.path.split('/').pop()!), f.content, { mode: f.mode });
    }
    const specFor = (crun: boolean): string =>
      toSpecJson(
        runtimeSpec({
          rootfs: req.root.path,
          // crun cannot mount the root as a mount of the spec: crun-runner.ts mounts it first
          ...(req.root.overlay && !crun ? { rootOverlay: req.root.overlay } : {}),
          args: req.args,
          env: req.env,
          cwd: req.cwd,
          user,
          network: req.network,
          hostname,
          hostsFile: hosts,
          resolvConf: '/etc/resolv.conf',
          ...(pipesDir ? { pipesDir } : {}),
          ...(req.mounts?.length ? { extraMounts: req.mounts } : {}),
          ...(req.security ? { security: req.security } : {}),
          // its own cgroup, beside or below runc's (runc's fs driver: relative to its own cgroup) or below
          // --cgroup-parent, with a pids limit and the build's resource limits; under crun, the
          // cgroup is tsbuild's own (step-cgroup.ts) and the spec names none
          ...(rootless
            ? { rootless, nprocLimit: pidsLimit }
            : crun
              ? {}
              : { cgroupsPath: stepCgroupsPath(id, req.resources), pidsLimit }),
          ...(req.resources ? { resources: req.resources, swapAccounted: swapAccounted() } : {}),
          ...(req.attach?.tty ? { terminal: true } : {}),
          ...(req.shmSize !== undefined ? { shmSize: req.shmSize } : {}),
          ...(req.ulimits?.length ? { ulimits: req.ulimits } : {}),
        }),
      );
    const runWithRunc = async (): Promise<RunResult> => {
      writeFileSync(join(bundle, 'config.json'), specFor(false));
      return req.attach
        ? {
            ...(await runAttached({
              runcRoot: req.runcRoot,
              bundle,
              id,
              ...req.attach,
              ...(req.signal ? { signal: req.signal } : {}),
            })),
            outputTail: [],
          }
        : await spawnRunc(req, id, bundle);
    };
    const limited = req.resources !== undefined && Object.values(req.resources).some((v) => v !== undefined);
    const crun =
      req.crunRoot && !rootless
        ? await crunFor({ attached: req.attach !== undefined, limited, mountThroughSymlink: symlinks.size > 0 })
        : undefined;
    const result =
      crun && req.crunRoot
        ? await runUnderCrun(req, crun, req.crunRoot, id, bundle, pidsLimit, () => specFor(true), runWithRunc)
        : await runWithRunc();
    await removeMountStubs(req.root.writableDir, stubs);
    const refusal = result.exitCode !== 0 ? runcRefusal(result.outputTail, rootless) : undefined;
    if (refusal) throw refusal;
    // rootless, `--ulimit nproc` takes the place of the limit (runtime-spec.ts)
    const ownLimit = !(rootless && req.ulimits?.some((u) => u.name.toLowerCase() === 'nproc'));
    if (result.exitCode !== 0 && ownLimit && pidsLimit > 0 && result.outputTail.some((l) => FORK_FAILED.test(l))) {
      const per = rootless ? ' of one user (RLIMIT_NPROC: rootless mode has no cgroup)' : '';
      result.hint = `a process could not be started: the step may have reached its limit of ${pidsLimit} processes and threads${per} (raise it with TSBUILD_PIDS_LIMIT=N, or max)`;
    }
    return result;
  } finally {
    rmSync(bundle, { recursive: true, force: true });
  }
}

/**
 * The step under crun in a cgroup of tsbuild's own (crun-runner.ts); runc runs it instead when
 * crun's set-up fails before the step starts (and every later step of this process).
 */
async function runUnderCrun(
  req: RunRequest,
  tools: CrunTools,
  crunRoot: string,
  id: string,
  bundle: string,
  pidsLimit: number,
  spec: () => string,
  runWithRunc: () => Promise<RunResult>,
): Promise<RunResult> {
  let cgroup: StepCgroup;
  try {
    cgroup = await StepCgroup.create(id, { pidsLimit, devices: req.security === 'insecure' ? 'all' : 'default' });
  } catch (err) {
    giveUpCrun(`could not make the step's cgroup: ${(err as Error).message}`);
    return runWithRunc();
  }
  try {
    writeFileSync(join(bundle, 'config.json'), spec());
    mkdirSync(crunRoot, { recursive: true });
    let result: RunResult;
    try {
      result = await runCrun({
        ...tools,
        crunRoot,
        bundle,
        id,
        rootfs: req.root.path,
        ...(req.root.overlay ? { overlay: req.root.overlay } : {}),
        cgroup,
        ...(req.onOutput ? { onOutput: req.onOutput } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
      });
    } catch (err) {
      if (!(err instanceof CrunSetupFailed)) throw err;
      giveUpCrun(err.message);
      return runWithRunc();
    }
    return { ...result, usage: await cgroup.usage() };
  } finally {
    if (!(await cgroup.remove())) {
      await cgroup.killAll();
      await cgroup.remove();
    }
  }
}

async function spawnRunc(req: RunRequest, id: string, bundle: string): Promise<RunResult> {
  // --keep: the stopped container keeps its cgroup until its counters are read (step-usage.ts)
  // Rootless: runc's log goes to a file, not the step's stderr: without cgroups runc 1.1 warns
  // on every run that it cannot read OOM kills. Its errors are passed on from there at the end.
  const log = inUserNamespace() ? join(bundle, 'runc.log') : undefined;
  const logArgs = log ? ['--log', log, '--log-format', 'json'] : [];
  const step = await runStepProcess(
    'runc',
    [...runcGlobalArgs(req.runcRoot), ...logArgs, 'run', '--keep', '--bundle', bundle, id],
    {
      ...(req.onOutput ? { onOutput: req.onOutput } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
      kill: (child) => {
        // runc forwards SIGTERM/SIGKILL to the container's init; delete -f reaps what is left.
        child.kill('SIGKILL');
        spawn('runc', [...runcGlobalArgs(req.runcRoot), 'delete', '-f', id], { stdio: 'ignore' }).on('error', () => {});
      },
      startError: (err) =>
        err.code === 'ENOENT'
          ? missingTool('runc', { why: 'tsbuild runs RUN steps in it', cause: err })
          : new Error(`could not start runc: ${err.message}`, { cause: err }),
    },
  );
  if (log) {
    step.tail.endLine(); // the step's unfinished last line is not the start of runc's first error
    for (const msg of runtimeLogErrors(log).filter(Boolean)) step.collect(Buffer.from(`runc: ${msg}\n`), 'stderr');
  }
  const result: RunResult = { exitCode: step.code ?? (step.signal ? 128 : 1), outputTail: step.tail.lines() };
  const usage = await removeKeptContainer(req.runcRoot, id);
  return usage ? { ...result, usage } : result;
}
