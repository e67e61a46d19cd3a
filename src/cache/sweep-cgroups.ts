import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ownerInName } from '../store/owner.js';
import { killCgroupProcesses, removeCgroupDir } from '../process/remove-cgroup.js';
import { stepCgroupParents } from '../process/cgroup-hierarchies.js';

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

async function removeCgroup(dir: string): Promise<boolean> {
  // a process left in it (runc died after starting it) would keep it busy
  await killCgroupProcesses(dir);
  return removeCgroupDir(dir, { pauseMs: 50, goneCounts: false });
}
