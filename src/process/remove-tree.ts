import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';

/**
 * `rm -rf` of a directory tree of any depth. Node's rm walks by whole paths, so a tree deeper
 * than PATH_MAX (a WORKDIR or a RUN that made thousands of nested dirs) fails with ENAMETOOLONG
 * and would stay in the state dir for good; coreutils' rm walks by directory handles and takes
 * it, so it is asked then (rarely: the spawn costs more than Node's rm of a normal tree).
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENAMETOOLONG') throw err;
    await new Promise<void>((resolve, reject) => {
      execFile('rm', ['-rf', '--one-file-system', '--', path], (e, _out, stderr) =>
        e ? reject(new Error(`rm -rf ${path}: ${stderr.trim() || e.message}`, { cause: e })) : resolve(),
      );
    });
  }
}
