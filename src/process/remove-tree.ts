import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';

/**
 * `rm -rf` of a directory tree of any depth. Node's rm walks by whole paths, so a tree deeper
 * than PATH_MAX (a WORKDIR or a RUN that made thousands of nested dirs) fails with ENAMETOOLONG
 * and would stay in the state dir for good; coreutils' rm walks by directory handles and takes
 * it, so it is asked then (rarely: the spawn costs more than Node's rm of a normal tree).
 */
export function removeTree(path: string): Promise<void> {
  return removeTreeOnce(path, false);
}

async function removeTreeOnce(path: string, opened: boolean): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // a user other than root (isolation chroot) cannot remove from a dir it may not write (an
    // image's 0555 dir), its own as it is: made writable first (chmod -R leaves symlinks alone;
    // its errors are not ours to report: rm's other removals may still be landing), then again
    if (code === 'EACCES' && !opened && process.geteuid?.() !== 0) {
      await new Promise<void>((resolve) => execFile('chmod', ['-R', 'u+rwx', '--', path], () => resolve()));
      return removeTreeOnce(path, true);
    }
    if (code !== 'ENAMETOOLONG') throw err;
    await new Promise<void>((resolve, reject) => {
      execFile('rm', ['-rf', '--one-file-system', '--', path], (e, _out, stderr) =>
        e ? reject(new Error(`rm -rf ${path}: ${stderr.trim() || e.message}`, { cause: e })) : resolve(),
      );
    });
  }
}
