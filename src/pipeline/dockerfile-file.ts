import { lstat, readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { asEnvironmentError, UserError } from '../errors.js';
import { resolveInRoot } from '../store/resolve-in-root.js';

/**
 * Reads the Dockerfile as BuildKit reads it through the local source of its directory: a symlink
 * resolves inside that directory, so a context's `Dockerfile -> /etc/shadow` is that path in the
 * context (most likely nothing) and a host file's lines never reach a parse error's message.
 */
export async function readDockerfile(path: string): Promise<string> {
  const inside = await resolveInRoot(dirname(path), '/' + basename(path));
  if (!(await lstat(inside).catch(() => undefined))?.isFile()) {
    throw new UserError(
      `no Dockerfile at ${path}: it is not a regular file, or a symlink that leads out of its directory`,
      {
        hint: 'a symlinked Dockerfile is followed only inside its own directory, as BuildKit does; name the file itself with -f PATH',
      },
    );
  }
  return readFile(inside, 'utf8').catch((err: unknown) => {
    throw asEnvironmentError(err, `cannot read the Dockerfile ${path}`, {
      denied: 'make it readable by the user tsbuild runs as',
    });
  });
}
