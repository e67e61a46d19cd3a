import { spawn } from 'node:child_process';
import { PassThrough, Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { missingTool } from '../process/missing-tool.js';

export type Compression = 'gzip' | 'zstd' | 'none';

/**
 * Decompresses a layer blob by what its first bytes say, not by its media type: registries and
 * old Docker archives mislabel layers often enough that the magic number is the reliable source.
 * gzip and zstd are decoded; anything else is taken to be a plain tar (whose own reader will
 * complain if it is not). bzip2/xz magic is refused with a clear message.
 */
export function decompressStream(input: NodeJS.ReadableStream): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const src = input instanceof Readable ? input : new Readable().wrap(input);
  run(src, out).catch((err: Error) => out.destroy(err));
  return out;
}

export function sniffCompression(head: Buffer): Compression | 'bzip2' | 'xz' {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  return 'none';
}

async function run(src: Readable, out: PassThrough): Promise<void> {
  const { head, rest } = await peek(src, 6);
  const kind = sniffCompression(head);
  switch (kind) {
    case 'none':
      await pipeline(rest, out);
      return;
    case 'gzip':
      // Concatenated gzip members (parallel compressors write them) decode as one stream.
      await pipeline(rest, zlib.createGunzip({ chunkSize: 1 << 20 }), out);
      return;
    case 'zstd': {
      const native = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
      if (typeof native === 'function') await pipeline(rest, native(), out);
      else await zstdProcess(rest, out);
      return;
    }
    default:
      rest.destroy();
      throw new Error(`layer is ${kind}-compressed; only gzip, zstd and uncompressed layers are supported`);
  }
}

/**
 * The first `n` bytes of `src` (fewer if it is shorter), and a stream of all of it, head
 * included. The bytes are put back with unshift, so the rest flows straight from `src`
 * (no per-chunk generator in between: this path carries every layer byte).
 */
function peek(src: Readable, n: number): Promise<{ head: Buffer; rest: Readable }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      src.off('readable', onReadable);
      src.off('end', onEnd);
      src.off('error', onError);
    };
    const onReadable = () => {
      let c: Buffer | null;
      while (size < n && (c = src.read() as Buffer | null) !== null) {
        chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
        size += c.length;
      }
      if (size < n) return;
      cleanup();
      const head = Buffer.concat(chunks);
      src.unshift(head);
      resolve({ head, rest: src });
    };
    const onEnd = () => {
      cleanup();
      const head = Buffer.concat(chunks);
      resolve({ head, rest: Readable.from(head.length ? [head] : []) });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    src.on('readable', onReadable);
    src.on('end', onEnd);
    src.on('error', onError);
  });
}

/** Node 20's zlib has no zstd; the zstd program does the work when installed. */
async function zstdProcess(source: Readable, out: PassThrough): Promise<void> {
  const child = spawn('zstd', ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? missingTool('zstd', { why: 'the layer is zstd-compressed and this Node.js cannot decode zstd', cause: err })
          : err,
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(new Error(`zstd -d failed (${signal ?? `exit ${code}`}): ${Buffer.concat(stderr).toString().trim()}`));
    });
  });
  const feed = pipeline(source, child.stdin).catch((err: NodeJS.ErrnoException) => {
    // zstd exiting early (bad data) breaks the pipe; its exit status is the real error.
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err;
  });
  const drain = pipeline(child.stdout, out, { end: false });
  const kill = (err: unknown) => {
    child.kill();
    throw err;
  };
  const results = await Promise.allSettled([exited, feed.catch(kill), drain.catch(kill)]);
  // zstd's own verdict (missing program, corrupt data) explains more than a broken pipe does.
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  out.end();
}
