import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { EnvironmentError, isUserError, UserError } from '../errors.js';
import type { BuildRequest } from '../pipeline/build-request.js';
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
  isolation?: 'chroot',
): Promise<void> {
  // isolation chroot needs no root: a user other than root runs steps under proot, owners recorded
  if (isolation !== 'chroot') requireRoot(euid);
  // loaded here, not at start-up: the build loads it anyway, other commands never
  const { cacheMaxFromEnv } = await import('../cache/state-session.js');
  await cacheMaxFromEnv(env);
  // read again where they are used (the first RUN, the first registry request): checked here too
  pidsLimitFromEnv(env);
  registryLimitsFromEnv(env);
  await checkDirSetting('TSBUILD_ROOT', env);
  await checkDirSetting('TSBUILD_RUNTIME_DIR', env);
}

/**
 * RUN steps under runc, overlay mounts and the owners of files in layers need root: the real one
 * (--isolation runc), or root of the user namespace rootless mode enters first (build-command.ts).
 */
export function requireRoot(euid: number | undefined): void {
  if (euid === undefined || euid === 0) return;
  throw new EnvironmentError(
    `--isolation runc needs root (this is uid ${euid}): it runs RUN steps with runc, mounts layers with overlayfs and sets the owners of files in them`,
    {
      hint: 'run it as root or with sudo, or leave out --isolation runc to build rootless (in a user namespace)',
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

/**
 * What the request names that the build would otherwise find wrong only at its end, after every
 * step ran: image names (-t, name=, push targets), the directories of the files it writes, and
 * the docker CLI that --load needs.
 */
export async function checkBuildRequest(
  req: Pick<BuildRequest, 'tags' | 'outputs' | 'iidFile' | 'metadataFile'>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const [{ normalizeImageName }, { exporterFor }] = await Promise.all([
    import('../exporter/image-names.js'),
    import('../exporter/exporters.js'),
  ]);
  const checkName = (name: string, flag: string): void => {
    try {
      normalizeImageName(name);
    } catch (err) {
      if (!isUserError(err)) throw err;
      // docker's words for a bad -t
      throw new UserError(`invalid argument ${JSON.stringify(name)} for ${flag}: ${err.message}`, {
        hint: 'a name is [REGISTRY/]REPOSITORY[:TAG], lowercase, e.g. app:1.0 or localhost:5000/team/app',
      });
    }
  };
  for (const tag of req.tags) checkName(tag, '"-t, --tag" flag');
  for (const out of req.outputs) {
    for (const name of out.names ?? []) checkName(name, `--output type=${out.type},name=`);
    if (out.push && !(out.names ?? req.tags).length)
      throw new UserError(`--output type=${out.type},push=true has no name to push to`, {
        hint: 'name it with -t REGISTRY/REPO:TAG, or name= in the --output',
      });
    if (out.dest !== undefined && out.dest !== '-' && exporterFor(out.type)?.dest === 'FILE')
      await checkParentDir(out.dest, `the ${out.type} output`);
    if (out.type === 'docker' && out.dest === undefined) {
      const [{ findOnPath }, { LOAD_ALTERNATIVES }] = await Promise.all([
        import('../process/find-on-path.js'),
        import('../exporter/docker-load.js'),
      ]);
      if (!findOnPath('docker', env))
        throw new EnvironmentError('--load needs the docker CLI, and docker is not installed (or not on PATH)', {
          hint: LOAD_ALTERNATIVES,
        });
    }
  }
  if (req.iidFile) await checkParentDir(req.iidFile, '--iidfile');
  if (req.metadataFile) await checkParentDir(req.metadataFile, '--metadata-file');
}

/** A file the build writes at its end: its directory must be there now (the build makes none, as buildx). */
async function checkParentDir(file: string, what: string): Promise<void> {
  const dir = dirname(resolve(file));
  const found = await stat(dir).catch((err: NodeJS.ErrnoException) => err);
  if (!(found instanceof Error) && found.isDirectory()) return;
  // another failure (no permission to look) is left for the write to report
  if (found instanceof Error && found.code !== 'ENOENT' && found.code !== 'ENOTDIR') return;
  throw new UserError(
    `${what} ${file}: ${found instanceof Error && found.code === 'ENOENT' ? `its directory ${dir} does not exist` : `${dir} is not a directory`}`,
    { hint: `make the directory first (mkdir -p ${dir}), or write the file elsewhere` },
  );
}
