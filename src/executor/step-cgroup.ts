/**
 * A RUN step's cgroup on a cgroup v1 (or hybrid) host, made and kept by tsbuild itself rather than
 * by the OCI runtime: crun runs with `--cgroup-manager=disabled` (crun-runner.ts) inside it. It
 * sits where runc's fs driver would have put the step's (below this process's cgroup in each
 * hierarchy, named as the container), so the sweep of stale step cgroups (sweep-cgroups.ts)
 * covers it, and holds what runc's would: the pids limit, the device rules runc applies by default
 * (mknod of anything, access only to the standard nodes), and the memory and CPU counters the
 * step's usage line and OOM message are read from (step-usage.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ownCgroups } from '../process/cgroup-hierarchies.js';
import { removeCgroupDir } from '../process/remove-cgroup.js';
import { readStepUsage, type StepUsage } from './step-usage.js';

/** The controllers a step cgroup needs: its counters (memory, cpuacct), its limit (pids) and its device rules. */
const CONTROLLERS = ['memory', 'cpuacct', 'pids', 'devices'] as const;
type Controller = (typeof CONTROLLERS)[number];

/**
 * runc's default device rules (libcontainer/specconv AllowedDevices), read back from a runc step
 * cgroup's devices.list on this host: any node may be made, only these opened.
 */
const DEFAULT_DEVICE_RULES = [
  'b *:* m',
  'c *:* m',
  'c 1:3 rwm', // null
  'c 1:5 rwm', // zero
  'c 1:7 rwm', // full
  'c 1:8 rwm', // random
  'c 1:9 rwm', // urandom
  'c 5:0 rwm', // tty
  'c 5:2 rwm', // ptmx
  'c 10:200 rwm', // net/tun
  'c 136:* rwm', // pts
];

let parents: Promise<Map<Controller, string> | undefined> | undefined;

/** Where each controller's step cgroups go, or undefined when a controller has no v1 hierarchy here. */
export function stepCgroupParentsV1(): Promise<Map<Controller, string> | undefined> {
  parents ??= ownCgroups().then((own) => {
    const map = new Map<Controller, string>();
    for (const c of CONTROLLERS) {
      const h = own.find((x) => x.version === 1 && x.controllers.includes(c));
      if (!h) return undefined;
      map.set(c, h.stepParent);
    }
    return map;
  });
  return parents;
}

export class StepCgroup {
  private constructor(private readonly dirs: Map<Controller, string>) {}

  /**
   * Makes the cgroup `name` in each hierarchy and sets its limits; throws (after removing what it
   * made) when the cgroupfs refuses. `devices: 'all'` is --security=insecure: no device rules.
   */
  static async create(name: string, o: { pidsLimit: number; devices: 'default' | 'all' }): Promise<StepCgroup> {
    const where = await stepCgroupParentsV1();
    if (!where) throw new Error('no cgroup v1 hierarchy for memory, cpuacct, pids and devices');
    const dirs = new Map<Controller, string>();
    for (const [c, parent] of where) dirs.set(c, join(parent, name));
    const cg = new StepCgroup(dirs);
    try {
      // synchronous: a handful of tiny cgroupfs writes, paid on every RUN in series
      for (const dir of new Set(dirs.values())) mkdirSync(dir);
      writeFileSync(join(dirs.get('pids')!, 'pids.max'), o.pidsLimit > 0 ? String(o.pidsLimit) : 'max');
      if (o.devices === 'default') {
        const devices = dirs.get('devices')!;
        writeFileSync(join(devices, 'devices.deny'), 'a');
        for (const rule of DEFAULT_DEVICE_RULES) writeFileSync(join(devices, 'devices.allow'), rule);
      }
    } catch (err) {
      await cg.remove();
      throw err;
    }
    return cg;
  }

  /** The files a process writes its pid to, to join the step cgroup in every hierarchy. */
  get procsFiles(): string[] {
    return [...new Set(this.dirs.values())].map((d) => join(d, 'cgroup.procs'));
  }

  usage(): Promise<StepUsage> {
    return readStepUsage({ memory: this.dirs.get('memory')!, cpuacct: this.dirs.get('cpuacct')! });
  }

  /** SIGKILLs every process in the cgroup (a cancelled step, or what a killed runtime left). */
  async killAll(): Promise<void> {
    const procs = await readFile(join(this.dirs.get('pids')!, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const pid of procs.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** Removes the cgroup; true when every hierarchy's dir is gone. */
  async remove(): Promise<boolean> {
    let removed = true;
    for (const dir of new Set(this.dirs.values()))
      removed = (await removeCgroupDir(dir, { pauseMs: 10, goneCounts: true })) && removed;
    return removed;
  }
}
