/**
 * Runs one RUN step under crun, which starts a container in about half the time runc takes (C
 * instead of Go, and its seccomp filter compiled faster): on the bench machine ~20 ms against
 * ~40 ms a step, which a chain of RUN steps pays in series.
 *
 * Two things crun does not do as tsbuild runs it are done around it, in a small shell that
 * `unshare -m` starts in a mount namespace of its own:
 * - crun refuses a hybrid cgroup host (v1 hierarchies plus a v2 one with a controller): the
 *   namespace's copy of the v2 mount is detached, so crun sees a v1 host;
 * - crun cannot mount the overlay root as a mount of the spec (runc can): the shell mounts it on
 *   the bundle's rootfs dir. The mount lives only in that namespace, so it goes when the step's
 *   processes do, whatever happens to tsbuild.
 * The step's cgroup is tsbuild's own (step-cgroup.ts): the shell joins it before it execs crun
 * (`--cgroup-manager=disabled`), so crun and everything the step starts run in it.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { runStepProcess } from './step-process.js';
import { runtimeLogErrors } from './runtime-log.js';
import type { RunResult } from './run-container.js';
import type { StepCgroup } from './step-cgroup.js';

export interface CrunRun {
  crun: string;
  unshare: string;
  /** busybox, whose mount and umount applets the set-up shell runs when given. */
  busybox?: string;
  crunRoot: string;
  bundle: string;
  id: string;
  /** The dir the spec's root.path names. */
  rootfs: string;
  /** Overlay options to mount on `rootfs` first; undefined when `rootfs` is the root as it is. */
  overlay?: string[];
  /** The hybrid host's cgroup2 mount to detach in the namespace, if any. */
  unified?: string;
  cgroup: StepCgroup;
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
}

/** What kept the shell from getting as far as crun (the step never started): run it with runc instead. */
export class CrunSetupFailed extends Error {}

// $bb: busybox, whose applets the shell runs when it is there (unquoted: empty, util-linux's)
const SETUP = [
  'b=$1 root=$2 opts=$3 croot=$4 id=$5 unified=$6 crun=$7 bb=$8',
  'shift 8',
  'for f do { echo $$ >"$f"; } 2>>"$b/setup.err" || { echo "join $f" >"$b/setup-failed"; exit 125; }; done',
  '[ -z "$unified" ] || $bb umount -l "$unified" 2>>"$b/setup.err" || { echo "detach $unified" >"$b/setup-failed"; exit 125; }',
  '[ -z "$opts" ] || $bb mount -n -t overlay overlay -o "$opts" "$root" 2>>"$b/setup.err" || { echo "mount the root overlay" >"$b/setup-failed"; exit 125; }',
  'exec "$crun" --root "$croot" --cgroup-manager=disabled --log="file:$b/crun.log" --log-format=json run --bundle "$b" "$id"',
].join('\n');

export async function runCrun(o: CrunRun): Promise<RunResult> {
  const args = [
    '-m',
    '--propagation',
    'slave',
    '/bin/sh',
    '-c',
    SETUP,
    'tsbuild-crun',
    o.bundle,
    o.rootfs,
    o.overlay?.join(',') ?? '',
    o.crunRoot,
    o.id,
    o.unified ?? '',
    o.crun,
    o.busybox ?? '',
    ...o.cgroup.procsFiles,
  ];
  const step = await runStepProcess(o.unshare, args, {
    ...(o.onOutput ? { onOutput: o.onOutput } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    kill: (child) => {
      child.kill('SIGKILL');
      void o.cgroup.killAll();
    },
    startError: (err) => new Error(`could not start ${o.unshare}: ${err.message}`, { cause: err }),
  });
  // crun killed before it removed its state: the container is gone with its pid namespace
  rmSync(join(o.crunRoot, o.id), { recursive: true, force: true });
  const failed = join(o.bundle, 'setup-failed');
  if (existsSync(failed)) {
    const why = `${readFileSync(failed, 'utf8').trim()}: ${readText(join(o.bundle, 'setup.err')).trim()}`;
    throw new CrunSetupFailed(`could not ${why}`);
  }
  step.tail.endLine(); // the step's unfinished last line is not the start of crun's first error
  const errors = runtimeLogErrors(join(o.bundle, 'crun.log')).filter(Boolean);
  for (const line of errors) step.collect(Buffer.from(`crun: ${line}\n`), 'stderr');
  const exitCode = step.code ?? 128 + (step.signal ? (constants.signals[step.signal] ?? 0) : 0);
  const result: RunResult = { exitCode, outputTail: step.tail.lines() };
  if (exitCode !== 0 && errors.some((e) => !isExecError(e)))
    result.hint = 'crun could not run the step: TSBUILD_RUNTIME=runc runs RUN steps with runc instead';
  return result;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** crun's words for a command it could not exec (`executable file \`x\` not found in $PATH: …`, `open executable: …`). */
export function isExecError(message: string): boolean {
  return /^executable file |^open executable|^exec(ve)? /.test(message);
}
