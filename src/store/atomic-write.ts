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
   * fsync before the rename (default). Caches whose loss costs only time skip it: their readers
   * check the content and ignore a torn file.
   */
  sync?: boolean;
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
}
