import { closeSync, constants, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { TAR_TRAILER, encodeTarHeader, padding } from '../image/tar-header.js';
import { layerEntries, type LayerEntryOptions } from './layer-entries.js';

export interface LayerTarOptions extends LayerEntryOptions {
  /** End `out` when done (default true), as `pipe` does. */
  end?: boolean;
}

/**
 * Writes the OCI layer tar (uncompressed) of one overlay-format layer dir to `out`. The bytes
 * depend only on the tree's content and metadata, so the same snapshot always has the same
 * diffID.
 */
export async function writeLayerTar(layerDir: string, out: NodeJS.WritableStream, opts: LayerTarOptions = {}): Promise<void> {
  const entries = await layerEntries(layerDir, opts);
  const sink = new BatchingWriter(out);
  try {
    for (const e of entries) {
      sink.push(encodeTarHeader(e));
      if (e.type === 'file' && e.size > 0) {
        if (e.size <= SMALL_FILE) sink.push(readSmall(e.source!, e.size));
        else await copyExactly(e.source!, e.size, sink);
        sink.push(Buffer.alloc(padding(e.size)));
      }
      await sink.maybeFlush();
    }
    sink.push(TAR_TRAILER);
    await sink.flush();
  } finally {
    sink.dispose();
  }
  if (opts.end !== false) out.end();
}

/** True when the layer dir holds no change at all (its tar would be only the trailer). */
export async function isLayerEmpty(layerDir: string, opts: LayerEntryOptions = {}): Promise<boolean> {
  return (await layerEntries(layerDir, opts)).length === 0;
}

/**
 * Files up to this size are read with synchronous calls. A layer of thousands of small files
 * spent most of its time waiting for the thread pool: three awaited round trips (open, read,
 * close) per file for reads of a few hundred bytes from the page cache.
 */
const SMALL_FILE = 256 << 10;

function readSmall(path: string, size: number): Buffer {
  // O_NOFOLLOW: the path was a regular file when listed; never read through a link swapped in.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buf = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const n = readSync(fd, buf, filled, size - filled, null);
      if (n === 0) throw new Error(`${path} shrank while its layer was being written (expected ${size} bytes)`);
      filled += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

async function copyExactly(path: string, size: number, sink: BatchingWriter): Promise<void> {
  // O_NOFOLLOW: the path was a regular file when listed; never read through a link swapped in.
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(left, 1 << 20));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) throw new Error(`${path} shrank while its layer was being written (expected ${size} bytes)`);
      sink.push(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      left -= bytesRead;
      await sink.maybeFlush();
    }
  } finally {
    await fh.close();
  }
}

/**
 * Collects small pieces (headers, padding) into larger writes and waits for 'drain' when the
 * destination pushes back, so a huge layer never piles up in memory.
 */
class BatchingWriter {
  private parts: Buffer[] = [];
  private size = 0;
  private failure: Error | undefined;

  private readonly onError = (err: Error) => {
    this.failure ??= err;
  };

  constructor(private readonly out: NodeJS.WritableStream) {
    out.on('error', this.onError);
  }

  dispose(): void {
    this.out.off('error', this.onError);
  }

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.parts.push(b);
    this.size += b.length;
  }

  async maybeFlush(): Promise<void> {
    // Large pieces: every write downstream (hashing, compressing, the file) costs per call.
    if (this.size >= 4 << 20) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.size === 0) return;
    const chunk = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    if (this.out.write(chunk)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        this.out.off('drain', onDrain);
        this.out.off('error', onError);
        this.out.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onError = (err: Error) => done(err);
      const onClose = () => done(this.failure ?? new Error('layer tar output closed early'));
      this.out.on('drain', onDrain);
      this.out.on('error', onError);
      this.out.on('close', onClose);
    });
  }
}
