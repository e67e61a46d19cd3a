import { spawn } from 'node:child_process';
import { Duplex, PassThrough } from 'node:stream';
import { missingTool } from '../process/missing-tool.js';
import { DEFAULT_GZIP_LEVEL, ParallelGzip } from './parallel-gzip.js';
import { MediaType } from './types.js';
import type { LayerCompression } from './layer-compression.js';

export { LAYER_COMPRESSIONS, compressionOfMediaType, levelRange, type LayerCompression } from './layer-compression.js';

/** zstd's CLI default and BuildKit's. */
export const DEFAULT_ZSTD_LEVEL = 3;

export function defaultLevel(c: LayerCompression): number | undefined {
  return c === 'gzip' ? DEFAULT_GZIP_LEVEL : c === 'zstd' ? DEFAULT_ZSTD_LEVEL : undefined;
}

export function layerMediaType(c: LayerCompression): string {
  return c === 'gzip' ? MediaType.ociLayerGzip : c === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayerTar;
}

/** A stream that compresses what is written to it. Every kind gives the same bytes for the same input. */
export function compressStream(c: LayerCompression, level?: number): Duplex {
  if (c === 'gzip') return new ParallelGzip(level ?? DEFAULT_GZIP_LEVEL);
  if (c === 'zstd') return zstdStream(level ?? DEFAULT_ZSTD_LEVEL);
  return new PassThrough({ highWaterMark: 1 << 20 });
}

/**
 * Node 20's zlib has no zstd, so the zstd program (Debian's `zstd`) does it. `-T0` uses every
 * core; zstd's multi-threaded output does not depend on the number of threads, so it stays
 * reproducible. `--no-check`-less default keeps the content checksum, as BuildKit's writer does.
 */
function zstdStream(level: number): Duplex {
  const args = ['-q', '-c', `-${level}`, '-T0', ...(level > 19 ? ['--ultra'] : [])];
  const child = spawn('zstd', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const duplex = Duplex.from({ writable: child.stdin, readable: out });
  child.on('error', (err: NodeJS.ErrnoException) => {
    const e =
      err.code === 'ENOENT' ? missingTool('zstd', { why: 'compressing layers with zstd needs it', cause: err }) : err;
    duplex.destroy(e);
  });
  // zstd's exit status is the verdict: end the output only once it says the stream was whole.
  child.stdout.pipe(out, { end: false });
  child.on('close', (code, signal) => {
    if (code === 0) out.end();
    else
      duplex.destroy(
        new Error(`zstd failed (${signal ?? `exit ${code}`}): ${Buffer.concat(stderr).toString().trim()}`),
      );
  });
  duplex.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  return duplex;
}
