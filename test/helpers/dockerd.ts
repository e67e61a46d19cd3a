import { spawnSync } from 'node:child_process';

/**
 * Whether a dockerd answers here. A socket file alone is not enough: a dockerd that was killed
 * leaves /var/run/docker.sock behind, and tests that need it must skip, not fail.
 */
export function dockerdRunning(): boolean {
  return spawnSync('/usr/bin/docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}
