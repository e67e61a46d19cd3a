/**
 * Owner tokens of other processes, for tests of what tsbuild does with a dead or a live owner's
 * leftovers (src/cache/owner.ts).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { ownerToken, processStartTime, selfOwner } from '../../src/store/owner.js';

/** The owner token of a process that has exited. */
export function deadToken(): string {
  const stat = spawnSync('sh', ['-c', 'cat /proc/$$/stat'], { encoding: 'utf8' }).stdout;
  return ownerToken({
    ...selfOwner(),
    pid: Number(stat.split(' ')[0]),
    start: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!,
  });
}

/** A live process (sleep) other than this one, and its token; kill it when done. */
export function liveProcess(seconds = 30): { token: string; child: ChildProcess; kill(): void } {
  const child = spawn('sleep', [String(seconds)], { stdio: 'ignore' });
  let start: string | undefined;
  for (let i = 0; i < 1000 && !start; i++) start = processStartTime(child.pid!);
  return {
    token: ownerToken({ ...selfOwner(), pid: child.pid!, start: start ?? '0' }),
    child,
    kill: () => child.kill('SIGKILL'),
  };
}
