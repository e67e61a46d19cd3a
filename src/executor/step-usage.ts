/**
 * What a RUN step used, read from its cgroup once its process has ended and before the cgroup is
 * removed: runc runs the step with `--keep`, so the container (stopped) and its cgroup stay until
 * `removeKeptContainer` reads them and removes both.
 *
 * The files read: cgroup v1 (and hybrid hosts, whose memory and cpuacct controllers are v1):
 * memory.max_usage_in_bytes, memory.oom_control's oom_kill (memory.failcnt where the kernel has
 * no oom_kill line), cpuacct.usage (ns). cgroup v2: memory.peak (kernel 5.19+), memory.events'
 * oom_kill, cpu.stat's usage_usec.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runcGlobalArgs } from './runc-args.js';
import { removeCgroupDir } from '../process/remove-cgroup.js';
import { processRunning } from '../store/owner.js';

export interface StepUsage {
  /** The most memory the step's processes held at once (page cache included, as the cgroup counts it). */
  peakMemoryBytes?: number;
  /** CPU time of all its processes, user and system. */
  cpuSeconds?: number;
  /** Processes the kernel's OOM killer killed in the step's cgroup. */
  oomKills: number;
}

async function readText(dir: string, file: string): Promise<string | undefined> {
  return readFile(join(dir, file), 'utf8').catch(() => undefined);
}

async function readNumber(dir: string, file: string): Promise<number | undefined> {
  const text = (await readText(dir, file))?.trim();
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** `key N` from a flat-keyed file (memory.events, cpu.stat, memory.oom_control). */
async function readKey(dir: string, file: string, key: string): Promise<number | undefined> {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec((await readText(dir, file)) ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The usage of a cgroup runc made, from its paths by controller (runc's state: `cgroup_paths`; v2's key is ''). */
export async function readStepUsage(paths: Record<string, string>): Promise<StepUsage> {
  const usage: StepUsage = { oomKills: 0 };
  const unified = paths[''];
  const memoryV1 = paths.memory;
  if (memoryV1) {
    const peak = await readNumber(memoryV1, 'memory.max_usage_in_bytes');
    if (peak !== undefined) usage.peakMemoryBytes = peak;
    const kills = await readKey(memoryV1, 'memory.oom_control', 'oom_kill');
    usage.oomKills = kills ?? ((await readNumber(memoryV1, 'memory.failcnt')) ? 1 : 0);
  } else if (unified) {
    const peak = await readNumber(unified, 'memory.peak');
    if (peak !== undefined) usage.peakMemoryBytes = peak;
    usage.oomKills = (await readKey(unified, 'memory.events', 'oom_kill')) ?? 0;
  }
  const cpuacct = paths.cpuacct;
  const ns = cpuacct ? await readNumber(cpuacct, 'cpuacct.usage') : undefined;
  if (ns !== undefined) usage.cpuSeconds = ns / 1e9;
  else if (unified) {
    const us = await readKey(unified, 'cpu.stat', 'usage_usec');
    if (us !== undefined) usage.cpuSeconds = us / 1e6;
  }
  return usage;
}

/**
 * Reads the usage of a container `runc run --keep` left stopped, then removes it as `runc delete`
 * would (its cgroups, its state dir) without starting runc again; `runc delete -f` is the fallback
 * when a cgroup will not go. Undefined when runc left no state (it failed before recording one).
 */
export async function removeKeptContainer(runcRoot: string, id: string): Promise<StepUsage | undefined> {
  const stateDir = join(runcRoot, id);
  let state: RuncState | undefined;
  try {
    state = JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8')) as RuncState;
  } catch {
    state = undefined;
  }
  const paths = state?.cgroup_paths;
  const usage = paths ? await readStepUsage(paths) : undefined;
  // runc killed outright (a cancelled build) leaves its container running; rootless, it has no
  // cgroup whose removal would fail, and removing the state dir would orphan it for good
  if (state && initRunning(state)) {
    await runcDelete(runcRoot, id);
    if (initRunning(state)) killInit(state);
    return usage;
  }
  let removed = true;
  for (const dir of new Set(Object.values(paths ?? {})))
    removed = (await removeCgroupDir(dir, { pauseMs: 10, goneCounts: true })) && removed;
  if (removed) await rm(stateDir, { recursive: true, force: true });
  else await runcDelete(runcRoot, id);
  return usage;
}

/** The fields of runc's state.json read here. */
interface RuncState {
  cgroup_paths?: Record<string, string>;
  init_process_pid?: number;
  /** The init's start time in clock ticks since boot (/proc/<pid>/stat field 22): tells a reused pid apart. */
  init_process_start?: number;
}

/** Whether the container's init process still runs (the same process, not a later one with its pid). */
export function initRunning(state: RuncState): boolean {
  const pid = state.init_process_pid;
  if (!pid || pid <= 0) return false;
  const start = state.init_process_start;
  return processRunning(pid, start === undefined ? undefined : String(start));
}

/** The last resort where `runc delete -f` left the init running: its pid namespace dies with it. */
function killInit(state: RuncState): void {
  try {
    if (state.init_process_pid) process.kill(state.init_process_pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

function runcDelete(runcRoot: string, id: string): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('runc', [...runcGlobalArgs(runcRoot), 'delete', '-f', id], { stdio: 'ignore' });
    child.on('error', () => resolve());
    child.on('close', () => resolve());
  });
}

let swapAccounting: boolean | undefined;

/**
 * Whether the kernel limits memory plus swap for a cgroup: v1's memory.memsw.* files (swapaccount),
 * v2's memory.swap.max. runc fails a spec with a swap limit where neither exists.
 */
export function swapAccounted(): boolean {
  if (swapAccounting !== undefined) return swapAccounting;
  if (existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes')) {
    swapAccounting = existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
    return swapAccounting;
  }
  let own = '/';
  try {
    own = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/';
  } catch {
    // no /proc: no cgroups to ask
  }
  swapAccounting = [own, dirname(own)].some((p) => existsSync(join('/sys/fs/cgroup', p, 'memory.swap.max')));
  return swapAccounting;
}
