import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EnvironmentError } from '../errors.js';
import { runTool } from '../process/run-tool.js';

/**
 * Checks that a whiteout (a 0/0 character device, how layer dirs record a removal) can be made in
 * `dir`. Without CAP_SYS_ADMIN overlayfs refuses one on its own mounts, so a state dir on a
 * container's root filesystem cannot hold layers; a volume (ext4, xfs, tmpfs) can, as any user
 * since Linux 5.8.
 */
export async function checkWhiteoutsAllowed(dir: string, what: string): Promise<void> {
  // Where the state dir will be, before anything is made: its nearest existing directory
  const at = await nearestDir(dir);
  const denied = await access(at, constants.W_OK).catch((err: NodeJS.ErrnoException) => err);
  if (denied)
    throw new EnvironmentError(
      `${what} cannot write to ${at} (on the way to ${dir}): ${denied.code ?? denied.message}`,
      {
        hint: 'point TSBUILD_ROOT at a directory this user may write to (in a pod: a volume such as an emptyDir)',
        cause: denied,
      },
    );
  const probe = join(at, `.whiteout-probe-${randomBytes(4).toString('hex')}`);
  const r = await runTool('mknod', ['-m', '000', '--', probe, 'c', '0', '0']);
  await rm(probe, { force: true });
  if (r.code === 0) return;
  throw new EnvironmentError(
    `${what} cannot record removed files in ${at}: making a whiteout (a 0/0 device) there failed: ${r.stderr.trim()}`,
    {
      hint: "put the state dir on a volume rather than the container's own filesystem (in Kubernetes an emptyDir; with docker -v or --tmpfs), and point TSBUILD_ROOT at it",
    },
  );
}

async function nearestDir(path: string): Promise<string> {
  for (let p = path; ; p = dirname(p)) {
    if ((await stat(p).catch(() => undefined))?.isDirectory() || p === dirname(p)) return p;
  }
}
