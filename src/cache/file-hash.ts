import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { xxh } from './xxhash.js';

/**
 * xxhash64 of a file's content, as 16 hex digits: the same value as hashing a read stream, but
 * reading into a few reused buffers, so hashing a 200 MB context allocates nothing per chunk
 * (per-chunk buffers made the GC the bottleneck) and a file that fits in one buffer is hashed
 * in one call.
 */
const BUFFER_SIZE = 4 << 20;
const pool: Buffer[] = [];

export async function hashFileFast(abs: string): Promise<string> {
  const api = await xxh();
  const buf = pool.pop() ?? Buffer.allocUnsafe(BUFFER_SIZE);
  // O_NOFOLLOW: the caller saw a regular file here; never hash through a link swapped in.
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let filled = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, filled, buf.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled < buf.length) continue;
      // Larger than one buffer: stream the rest.
      const h = api.create64().update(buf);
      for (;;) {
        const r = await fh.read(buf, 0, buf.length, null);
        if (r.bytesRead === 0) break;
        h.update(r.bytesRead === buf.length ? buf : buf.subarray(0, r.bytesRead));
      }
      return hex(h.digest());
    }
    return hex(api.h64Raw(buf.subarray(0, filled)));
  } finally {
    await fh.close();
    pool.push(buf);
  }
}

function hex(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}
