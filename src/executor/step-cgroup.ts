/**
 * A RUN step's cgroup on a cgroup v1 (or hybrid) host, made and kept by tsbuild itself rather than
 * by the OCI runtime: crun runs with `--cgroup-manager=disabled` (crun-runner.ts) inside it. It
 * sits where runc's fs driver would have put the step's (below this process's cgroup, named as the
 * container) in the v1 hierarchies of the controllers it uses, so the sweep of stale step cgroups (sweep-cgroups.ts)
 * covers it, and holds what runc's would: the pids limit, the device rules runc applies by default
 * (mknod of anything, access only to the standard nodes), and the memory and CPU counters the
 * step's usage line and OOM message are read from (step-usage.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ownCgroups } from '../process/cgroup-hierarchies.js';
import { killCgroupProcesses, removeCgroupDir } from '../process/remove-cgroup.js';
import { readStepUsage, type StepUsage } from './step-usage.js';

/** The controllers a step cgroup needs: its counters (memory, cpuacct), its limit (pids) and its device rules. */
const CONTROLLERS = ['memory', 'cpuacct', 'pids', 'devices'] as const;
type Controller = (typeof CONTROLLERS)[number];
const isController = (c: string): c is Controller => (CONTROLLERS as readonly string[]).includes(c);

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

interface Hierarchy {
  /** Where the step cgroup goes in it. */
  parent: string;
  controllers: string[];
}

let layout: Promise<Hierarchy[] | undefined> | undefined;

/**
 * The v1 hierarchies holding the controllers a step cgroup uses, with where runc's fs driver would
 * place a step cgroup in each; undefined when one of those controllers has no v1 hierarchy here.
 * Only these: each other one (cpu, cpuset, blkio, freezer, name=systemd, the hybrid v2 one) cost
 * every step a mkdir, a join and an rmdir (4 hierarchies instead of 10: ~4.5 ms less a RUN step,
 * alternating A/B of ten RUNs in series), and a step run without limits (crun never runs one with
 * them: oci-runtime.ts) has no use for them; its processes stay in this process's cgroup there, as
 * the tools it runs do.
 */
function stepCgroupHierarchies(): Promise<Hierarchy[] | undefined> {
  layout ??= ownCgroups().then((own) => {
    const used = own.filter((x) => x.version === 1 && x.controllers.some(isController));
    if (!CONTROLLERS.every((c) => used.some((x) => x.controllers.includes(c)))) return undefined;
    return used.map((x) => ({ parent: x.stepParent, controllers: x.controllers }));
  });
  return layout;
}

/** Where each needed controller's step cgroups go, or undefined when one has no v1 hierarchy here. */
export async function stepCgroupParentsV1(): Promise<Map<Controller, string> | undefined> {
  const used = await stepCgroupHierarchies();
  if (!used) return undefined;
  return new Map(CONTROLLERS.map((c) => [c, used.find((h) => h.controllers.includes(c))!.parent] as const));
}

export class StepCgroup {
  private constructor(
    /** The step's dir in each hierarchy it is in. */
    private readonly dirs: string[],
    private readonly byController: Map<Controller, string>,
  ) {}

  /**
   * Makes the cgroup `name` in the hierarchies of CONTROLLERS and sets its limits; throws (after
   * removing what it made) when the cgroupfs refuses. `devices: 'all'` is --security=insecure:
   * no device rules.
   */
  static async create(name: string, o: { pidsLimit: number; devices: 'default' | 'all' }): Promise<StepCgroup> {
    const used = await stepCgroupHierarchies();
    if (!used) throw new Error('no cgroup v1 hierarchy for memory, cpuacct, pids and devices');
    const byController = new Map<Controller, string>(
      CONTROLLERS.map((c) => [c, join(used.find((h) => h.controllers.includes(c))!.parent, name)]),
    );
    const cg = new StepCgroup(
      used.map((h) => join(h.parent, name)),
      byController,
    );
    try {
      // synchronous: a handful of tiny cgroupfs writes, paid on every RUN in series
      for (const h of used) {
        const dir = join(h.parent, name);
        mkdirSync(dir);
        // a v1 cpuset cgroup takes no process until it has cpus and mems: its parent's, as runc copies them
        if (h.controllers.includes('cpuset'))
          for (const f of ['cpuset.cpus', 'cpuset.mems'])
            writeFileSync(join(dir, f), readFileSync(join(h.parent, f), 'utf8').trim() || '\n');
      }
      writeFileSync(join(byController.get('pids')!, 'pids.max'), o.pidsLimit > 0 ? String(o.pidsLimit) : 'max');
      if (o.devices === 'default') {
        const devices = byController.get('devices')!;
        writeFileSync(join(devices, 'devices.deny'), 'a');
        for (const rule of DEFAULT_DEVICE_RULES) writeFileSync(join(devices, 'devices.allow'), rule);
      }
    } catch (err) {
      await cg.remove();
      throw err;
    }
    return cg;
  }

  /** The files a process writes its pid to, to join the step cgroup in each of its hierarchies. */
  get procsFiles(): string[] {
    return this.dirs.map((d) => join(d, 'cgroup.procs'));
  }

  usage(): Promise<StepUsage> {
    return readStepUsage({ memory: this.byController.get('memory')!, cpuacct: this.byController.get('cpuacct')! });
  }

  /** SIGKILLs every process in the cgroup (a cancelled step, or what a killed runtime left). */
  killAll(): Promise<void> {
    return killCgroupProcesses(this.byController.get('pids')!);
  }

  /** Removes the cgroup; true when each of its hierarchies' dirs is gone. */
  async remove(): Promise<boolean> {
    let removed = true;
    for (const dir of this.dirs) removed = (await removeCgroupDir(dir, { pauseMs: 10, goneCounts: true })) && removed;
    return removed;
  }
}
