/**
 * The tar bytes of an archive file ADD may extract, whatever its compression: gzip and (when
 * Node has it) zstd are decoded in-process; bzip2, xz and older-Node zstd by their Debian
 * programs (`bzip2`, `xz-utils`, `zstd`), which read the file themselves. Chosen by the file's
 * magic number, not its name, as docker's DecompressStream does.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { PassThrough, type Readable, type Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { EnvironmentError, UserError } from '../errors.js';

export type ArchiveCompression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

export function compressionOf(head: Buffer): ArchiveCompression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

const PROGRAMS: Record<'bzip2' | 'xz' | 'zstd', { cmd: string; pkg: string }> = {
  bzip2: { cmd: 'bzip2', pkg: 'bzip2' },
  xz: { cmd: 'xz', pkg: 'xz-utils' },
  zstd: { cmd: 'zstd', pkg: 'zstd' },
};

/** A decompressing child process as a stream; its failure (or absence) becomes the stream's error. */
function programStream(kind: 'bzip2' | 'xz' | 'zstd', path: string): Readable {
  const { cmd, pkg } = PROGRAMS[kind];
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const child = spawn(cmd, ['-dc', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let ended = false;
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.pipe(out, { end: false });
  child.on('error', (err: NodeJS.ErrnoException) => {
    out.destroy(
      err.code === 'ENOENT'
        ? new EnvironmentError(`${path} is ${kind}-compressed and the ${cmd} program is not installed`, {
            hint: `apt-get install ${pkg}`,
            cause: err,
          })
        : err,
    );
  });
  child.on('close', (code, signal) => {
    if (ended) return;
    if (code === 0) out.end();
    else
      out.destroy(
        new UserError(`cannot decompress ${path} (${kind}): ${stderr.trim() || `${cmd} ${signal ?? `exit ${code}`}`}`),
      );
  });
  // A reader that stops early (the archive sniffer) must not leave the program running.
  out.on('close', () => {
    ended = true;
    if (child.exitCode === null) child.kill();
  });
  return out;
}

/** Opens `path` as a stream of uncompressed tar bytes. */
export async function openArchive(path: string): Promise<Readable> {
  const fh = await open(path, 'r');
  const head = Buffer.alloc(6);
  let n: number;
  try {
    ({ bytesRead: n } = await fh.read(head, 0, 6, 0));
  } finally {
    await fh.close();
  }
  const kind = compressionOf(head.subarray(0, n));
  if (kind === 'none') return createReadStream(path, { highWaterMark: 1 << 20 });
  if (kind === 'gzip') return createReadStream(path).pipe(zlib.createGunzip());
  const zstd = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  if (kind === 'zstd' && typeof zstd === 'function') return createReadStream(path).pipe(zstd());
  return programStream(kind, path);
}
