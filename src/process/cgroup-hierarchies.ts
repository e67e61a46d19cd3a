import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

/** One mounted cgroup hierarchy and where this process sits in it. */
export interface OwnCgroup {
  version: 1 | 2;
  /** v1: the controllers (and name=… hierarchies) of the hierarchy; v2: []. */
  controllers: string[];
  /** This process's cgroup in that hierarchy, as a directory under its mount point. */
  dir: string;
  /** Where runc (fs driver, relative cgroupsPath) makes a step's cgroup: v1 below `dir`, v2 beside it. */
  stepParent: string;
}

interface CgroupMount {
  point: string;
  /** The hierarchy path mounted there (mountinfo's root field). */
  root: string;
  version: 1 | 2;
  controllers: string[];
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

async function cgroupMounts(): Promise<CgroupMount[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const out: CgroupMount[] = [];
  for (const line of info.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const f = pre.split(' ');
    const [fstype, , opts] = post.split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    out.push({
      point: unescape(f[4]!),
      root: unescape(f[3]!),
      version: fstype === 'cgroup2' ? 2 : 1,
      controllers: fstype === 'cgroup' ? (opts ?? '').split(',').filter((o) => o !== 'rw' && o !== 'ro') : [],
    });
  }
  return out;
}

/** This process's cgroups, one per mounted hierarchy (/proc/self/cgroup read against /proc/self/mountinfo). */
export async function ownCgroups(): Promise<OwnCgroup[]> {
  const own = await readFile('/proc/self/cgroup', 'utf8').catch(() => '');
  const mounts = await cgroupMounts();
  const out: OwnCgroup[] = [];
  for (const line of own.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, , list, path] = m as unknown as [string, string, string, string];
    if (list === '') {
      const mount = mounts.find((x) => x.version === 2);
      if (mount)
        out.push({
          version: 2,
          controllers: [],
          dir: join(mount.point, relative(mount.root, path)),
          stepParent: join(mount.point, relative(mount.root, dirname(path))),
        });
      continue;
    }
    const controllers = list.split(',');
    const mount = mounts.find((x) => x.version === 1 && controllers.every((c) => x.controllers.includes(c)));
    if (!mount) continue;
    const dir = join(mount.point, relative(mount.root, path));
    out.push({ version: 1, controllers, dir, stepParent: dir });
  }
  return out;
}

/**
 * The directories where runc, started by this process, makes a step's cgroup (its fs driver:
 * relative to its own cgroup; cgroup v1: in each hierarchy, below it; v2: beside it, in its parent).
 */
export async function stepCgroupParents(): Promise<string[]> {
  const dirs = new Set<string>();
  for (const c of await ownCgroups()) dirs.add(c.stepParent);
  return [...dirs];
}

/**
 * The cgroup2 mount points of a hybrid host (v1 hierarchies and a v2 one beside them, as
 * systemd's `unified` mount); [] on a pure v1 or a pure v2 host.
 */
export async function hybridUnifiedMounts(): Promise<string[]> {
  const mounts = await cgroupMounts();
  if (!mounts.some((m) => m.version === 1)) return [];
  return mounts.filter((m) => m.version === 2).map((m) => m.point);
}
