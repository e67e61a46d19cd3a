/**
 * Which OCI runtime runs a RUN step: crun where it can (it starts a container in about half
 * runc's time, see crun-runner.ts), runc otherwise. TSBUILD_RUNTIME=runc|crun|auto (default auto)
 * picks. crun is taken for a root build on a host with cgroup v1 hierarchies (the step cgroup is
 * tsbuild's own there: step-cgroup.ts) when crun and unshare are installed; runc runs rootless
 * steps, `tsbuild run`, steps with resource limits (--memory, --cpus, …: runc sets them), steps
 * with a mount point reached through a symlink of the root (/etc/resolv.conf -> elsewhere, a
 * --mount target under a symlinked dir), and everything on a pure cgroup v2 host. A host where crun's set-up fails (no mount namespace, a
 * read-only cgroupfs) falls back to runc for the rest of the process.
 */
import { execFile } from 'node:child_process';
import { EnvironmentError, UserError } from '../errors.js';
import { hybridUnifiedMounts } from '../process/cgroup-hierarchies.js';
import { findOnPath } from '../process/find-on-path.js';
import { inUserNamespace } from '../process/user-namespace.js';
import { stepCgroupParentsV1 } from './step-cgroup.js';

export interface CrunTools {
  crun: string;
  unshare: string;
  /**
   * A busybox with mount and umount applets, which the set-up shell runs instead of util-linux's
   * (a static busybox starts in a fraction of the time mount takes loading libmount: ~3 ms less
   * a step, alternating A/B of ten RUNs).
   */
  busybox?: string;
  /** A hybrid host's cgroup2 mount, which crun must not see. */
  unified?: string;
}

export interface RuntimeNeeds {
  attached: boolean;
  limited: boolean;
  /**
   * A mount point of the step (or a dir on its way) is a symlink in the root: runc resolves it
   * inside the root and makes what is missing there; crun refuses a target it cannot open.
   */
  mountThroughSymlink?: boolean;
}

let givenUp: string | undefined;
let tools: Promise<CrunTools | string> | undefined;

/** Stops using crun in this process: its set-up failed here once, and would again. */
export function giveUpCrun(why: string): void {
  givenUp = why;
}

function wanted(env: NodeJS.ProcessEnv): 'runc' | 'crun' | 'auto' {
  const v = env.TSBUILD_RUNTIME ?? 'auto';
  if (v === 'runc' || v === 'crun' || v === 'auto' || v === '') return v || 'auto';
  throw new UserError(`TSBUILD_RUNTIME=${v} is not a runtime tsbuild knows`, {
    hint: 'use runc, crun or auto (the default: crun where it can run the step, else runc)',
  });
}

/** crun and what it needs on this host, or why crun cannot run steps here. */
function crunTools(): Promise<CrunTools | string> {
  tools ??= (async () => {
    if (inUserNamespace()) return 'rootless builds run their steps with runc';
    const crun = findOnPath('crun');
    if (!crun) return 'crun is not installed (apt-get install crun)';
    const unshare = findOnPath('unshare');
    if (!unshare) return 'unshare is not installed (apt-get install util-linux)';
    // busybox --list runs while the cgroup mounts are read: the first RUN step waits on both
    const probe = busyboxWithMount();
    if (!(await stepCgroupParentsV1()))
      return 'this host has no cgroup v1 hierarchies for memory, cpuacct, pids and devices (tsbuild keeps crun steps in v1 cgroups)';
    const unified = (await hybridUnifiedMounts())[0];
    const busybox = await probe;
    return { crun, unshare, ...(unified ? { unified } : {}), ...(busybox ? { busybox } : {}) };
  })();
  return tools;
}

/** busybox's path when it is installed and has the mount and umount applets. */
async function busyboxWithMount(): Promise<string | undefined> {
  const busybox = findOnPath('busybox');
  if (!busybox) return undefined;
  const applets = await new Promise<string>((resolve) =>
    execFile(busybox, ['--list'], (err, stdout) => resolve(err ? '' : stdout)),
  );
  const listed = new Set(applets.split('\n'));
  return listed.has('mount') && listed.has('umount') ? busybox : undefined;
}

/** crun's tools when this step runs under crun; undefined: runc runs it. */
export async function crunFor(
  needs: RuntimeNeeds,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CrunTools | undefined> {
  const want = wanted(env);
  if (want === 'runc') return undefined;
  const why = needs.attached
    ? '`tsbuild run` runs its container with runc'
    : needs.limited
      ? 'steps with resource limits (--memory, --cpus, …) run with runc'
      : needs.mountThroughSymlink
        ? 'a mount point of the step is a symlink in its root: runc resolves it there'
        : givenUp;
  const found = why ?? (await crunTools());
  if (typeof found !== 'string') return found;
  if (want === 'crun')
    throw new EnvironmentError(`TSBUILD_RUNTIME=crun, but crun cannot run this step: ${found}`, {
      hint: 'unset TSBUILD_RUNTIME (or set it to runc) to run RUN steps with runc',
    });
  return undefined;
}
