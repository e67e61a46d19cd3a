import { readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

/** SIGKILLs every process a cgroup dir lists (what a killed runtime or build left running in it). */
export async function killCgroupProcesses(dir: string): Promise<void> {
  const procs = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  for (const pid of procs.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * rmdir of a cgroup whose processes are gone or going: a zombie keeps it busy for a moment, so
 * EBUSY is tried again, `pauseMs` apart, 20 times. Says whether this call removed it (ENOENT:
 * someone else did, which `goneCounts` decides to count or not).
 */
export async function removeCgroupDir(dir: string, opts: { pauseMs: number; goneCounts: boolean }): Promise<boolean> {
  for (let tries = 0; tries < 20; tries++) {
    try {
      await rmdir(dir);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return opts.goneCounts;
      if (code !== 'EBUSY') return false;
      await new Promise((r) => setTimeout(r, opts.pauseMs));
    }
  }
  return false;
}
