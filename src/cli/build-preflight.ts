import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EnvironmentError } from '../errors.js';
import { pidsLimitFromEnv } from '../executor/pids-limit.js';
import { registryLimitsFromEnv } from '../registry/limits.js';

/**
 * What a build needs of the machine, checked before it writes anything: a bad setting found
 * after the build would undo it, and a build as an ordinary user fails half-way, on the first
 * file whose owner it sets.
 */
export async function checkBuildEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  euid: number | undefined = process.geteuid?.(),
): Promise<void> {
  requireRoot(euid);
  // loaded here, not at start-up: the build loads it anyway, other commands never
  const { cacheMaxFromEnv } = await import('../cache/state-session.js');
  await cacheMaxFromEnv(env);
  // read again where they are used (the first RUN, the first registry request): checked here too
  pidsLimitFromEnv(env);
  registryLimitsFromEnv(env);
  await checkDirSetting('TSBUILD_ROOT', env);
  await checkDirSetting('TSBUILD_RUNTIME_DIR', env);
}

/** RUN steps under runc, overlay mounts and the owners of files in layers all need root until there is a rootless mode. */
export function requireRoot(euid: number | undefined): void {
  if (euid === undefined || euid === 0) return;
  throw new EnvironmentError(
    `tsbuild needs to run as root for now (this is uid ${euid}): it runs RUN steps with runc, mounts layers with overlayfs and sets the owners of files in them`,
    {
      hint: 'run it as root or with sudo; a rootless mode is planned',
    },
  );
}

/** A variable naming a directory tsbuild makes when needed: it may be missing, but not be (or be under) something else. */
async function checkDirSetting(name: string, env: NodeJS.ProcessEnv): Promise<void> {
  const value = env[name];
  if (!value) return;
  const found = await stat(resolve(value)).catch((err: NodeJS.ErrnoException) => err);
  const notDir = found instanceof Error ? found.code === 'ENOTDIR' : !found.isDirectory();
  if (!notDir) return;
  throw new EnvironmentError(
    `${name}=${value} is not a directory${found instanceof Error ? ' (a path above it is a file)' : ''}`,
    {
      hint: `point ${name} at a directory, or at a path where one can be made, or unset it`,
    },
  );
}
