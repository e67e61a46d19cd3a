import { spawn } from 'node:child_process';
import type { ContentStore } from '../store/content-store.js';
import type { Descriptor } from '../image/types.js';
import { EnvironmentError, type UserError } from '../errors.js';
import { dockerArchiveFiles } from './docker-archive.js';
import type { ExportOptions } from './pending-output.js';
import { streamArchive } from './tar-output.js';

/** What to do instead when no docker answers: the ways to get the image out without one. */
export const LOAD_ALTERNATIVES =
  'write the image to a file with -o type=docker,dest=image.tar (then docker load -i image.tar where a docker runs), ' +
  'keep it with -t NAME and export it later with tsbuild save, or send it to a registry with -t REGISTRY/NAME --push';

/**
 * `--load` / `-o type=docker` without dest: the image as a docker archive piped into
 * `docker load`, as buildx loads into the local docker. Returns docker load's lines
 * (`Loaded image: app:1`). No docker CLI, or no daemon answering it, is an EnvironmentError
 * that names the alternatives.
 */
export async function loadIntoDocker(
  store: ContentStore,
  manifest: Descriptor,
  names: string[],
  opts: ExportOptions = {},
): Promise<string[]> {
  const files = await dockerArchiveFiles(store, [{ manifest, names }]);
  const docker = 'docker';
  const child = spawn(docker, ['load'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  // docker that exits early (no daemon) closes its stdin: reported by its exit, not as EPIPE
  child.stdin.on('error', () => {});
  const exited = new Promise<{ code: number | null; spawnError?: NodeJS.ErrnoException }>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => resolve({ code: null, spawnError: err }));
    child.once('close', (code) => resolve({ code }));
  });
  const onAbort = (): void => {
    child.kill('SIGTERM');
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const streamed = await streamArchive(store, files, child.stdin, opts).then(
      () => undefined,
      (err: unknown) => err,
    );
    child.stdin.end();
    const { code, spawnError } = await exited;
    opts.signal?.throwIfAborted();
    if (spawnError) throw noDocker(docker, spawnError);
    if (code !== 0) throw loadFailed(stderr, code);
    if (streamed) throw streamed;
    return stdout.split('\n').filter((l) => l.trim());
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

function noDocker(docker: string, err: NodeJS.ErrnoException): EnvironmentError {
  return new EnvironmentError(
    `--load needs the docker CLI, and ${docker} ${err.code === 'ENOENT' ? 'is not installed (or not on PATH)' : `cannot be run: ${err.message}`}`,
    { hint: LOAD_ALTERNATIVES, cause: err },
  );
}

/** docker load failed: a daemon that does not answer (or may not be spoken to) is the machine's; anything else is docker's answer about the archive. */
function loadFailed(stderr: string, code: number | null): UserError {
  const said = stderr.trim() || `docker load exited with ${code}`;
  if (
    /Cannot connect to the Docker daemon|error during connect|permission denied while trying to connect|Is the docker daemon running/i.test(
      said,
    )
  )
    return new EnvironmentError(`--load: no docker daemon answers (${said.split('\n')[0]})`, {
      hint: `start dockerd or point DOCKER_HOST at one; or ${LOAD_ALTERNATIVES}`,
    });
  return new EnvironmentError(`--load: docker load failed: ${said}`, { hint: LOAD_ALTERNATIVES });
}
