import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { ownerToken } from './owner.js';

/**
 * A temp name beside `target`, so the final rename stays on one filesystem. It carries this
 * process's owner token, so a leftover of a killed build can be told from one being written.
 */
export function tempNameFor(target: string): string {
  return join(dirname(target), `.tmp-${basename(target)}-${ownerToken()}-${randomBytes(6).toString('hex')}`);
}

export interface AtomicWriteOptions {
  /**
   * fsync before the rename and the directory after it (default). Caches whose loss costs only
   * time skip both: their readers check the content and ignore a torn file.
   */
  sync?: boolean;
}

/**
 * fsyncs a directory, so a rename into it survives a power loss: fsyncing the file makes its
 * data durable, not the directory entry that names it (containerd's content commit does the same).
 */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    // a filesystem that cannot fsync a directory (some FUSE and network ones) offers nothing more
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP') throw err;
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `target` so a reader sees either the old file or the whole new one, never a part. */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = tempNameFor(target);
  const fh = await open(tmp, 'w', 0o644);
  try {
    try {
      await fh.writeFile(data);
      if (opts.sync !== false) await fh.sync();
    } finally {
      // a failed close is a failed write too (the data may not all be there)
      await fh.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (opts.sync !== false) await syncDir(dirname(target));
}
