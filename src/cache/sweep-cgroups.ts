import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { ownerInName } from '../store/owner.js';
import { removeCgroupDir } from '../process/remove-cgroup.js';

/**
 * Each RUN step runs in a cgroup of its own named after its container (`tsbuild-<owner>-<rand>`),
 * which runc makes relative to its own cgroup (cgroup v1: in each hierarchy, below it; v2:
 * beside it, in its parent) and removes when the container goes. One is left only when runc
 * was killed before it recorded the container: this removes those of dead owners, in the places
 * runc started from this process's cgroup would have made them, after killing what still runs
 * there. Returns how many were removed. Cgroups are the whole machine's, not one state dir's:
 * a name without an owner token (another tool's, an older tsbuild's) is never touched, whatever
 * `dead` says of it, so a build on one state dir cannot kill a step of a build on another.
 */
export async function sweepStaleCgroups(dead: (name: string) => boolean): Promise<number> {
  let removed = 0;
  for (const dir of await stepCgroupParents()) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.startsWith('tsbuild-') || !ownerInName(name) || !dead(name)) continue;
      if (await removeCgroup(join(dir, name))) removed++;
    }
  }
  return removed;
}

interface CgroupMount {
  point: string;
  /** The hierarchy path mounted there (mountinfo's root field). */
  root: string;
  version: 1 | 2;
  /** v1: the controllers (or name=…) in the super options. */
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

/** The directories where runc, started by this process, makes a step's cgroup. */
export async function stepCgroupParents(): Promise<string[]> {
  const own = await readFile('/proc/self/cgroup', 'utf8').catch(() => '');
  const mounts = await cgroupMounts();
  const dirs = new Set<string>();
  for (const line of own.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, , list, path] = m as unknown as [string, string, string, string];
    if (list === '') {
      const mount = mounts.find((x) => x.version === 2);
      if (mount) dirs.add(join(mount.point, relative(mount.root, dirname(path))));
      continue;
    }
    const controllers = list.split(',');
    const mount = mounts.find((x) => x.version === 1 && controllers.every((c) => x.controllers.includes(c)));
    if (mount) dirs.add(join(mount.point, relative(mount.root, path)));
  }
  return [...dirs];
}

async function removeCgroup(dir: string): Promise<boolean> {
  // a process left in it (runc died after starting it) would keep it busy
  const procs = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  for (const pid of procs.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return removeCgroupDir(dir, { pauseMs: 50, goneCounts: false });
}
