import { closeSync, constants, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { TAR_TRAILER, encodeTarHeader, padding } from '../image/tar-header.js';
import { forEachLayerEntry, layerEntries, type LayerEntryOptions } from './layer-entries.js';

export interface LayerTarOptions extends LayerEntryOptions {
  /** End `out` when done (default true), as `pipe` does. */
  end?: boolean;
  /**
   * `out` is done with a chunk when that write's callback runs (true of ContentStore.ingestWritten
   * and of a zlib stream, not of a PassThrough, which hands the chunk on): the writer then fills
   * that chunk again instead of taking a new one for every write.
   */
  reuseWritten?: boolean;
}

/**
 * Writes the OCI layer tar (uncompressed) of one overlay-format layer dir to `out`. The bytes
 * depend only on the tree's content and metadata, so the same snapshot always has the same
 * diffID.
 */
export async function writeLayerTar(
  layerDir: string,
  out: NodeJS.WritableStream,
  opts: LayerTarOptions = {},
): Promise<void> {
  const sink = new BatchingWriter(out, opts.reuseWritten === true);
  try {
    // Synchronous unless there is something to wait for: a promise per entry of a 33,000-file
    // layer was a good part of the garbage the walk made.
    await forEachLayerEntry(layerDir, opts, (e) => {
      sink.push(encodeTarHeader(e));
      if (e.type === 'file' && e.size > 0) {
        if (e.size > SMALL_FILE) {
          return copyExactly(e.source!, e.size, sink).then(() => {
            sink.zeros(padding(e.size));
            return sink.drained();
          });
        }
        const at = sink.claim(e.size);
        readSmall(e.source!, e.size, sink.chunk, at);
        sink.zeros(padding(e.size));
      }
      return sink.drained();
    });
    sink.push(TAR_TRAILER);
    await sink.end();
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
/** The size of each write downstream, once a layer is past its first few chunks. */
const CHUNK = 4 << 20;
const FIRST_CHUNK = 64 << 10;

/** Reads a whole small file into `into` at `at` (exactly its size). */
function readSmall(path: string, size: number, into: Buffer, at: number): void {
  // O_NOFOLLOW: the path was a regular file when listed; never read through a link swapped in.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let filled = 0;
    while (filled < size) {
      const n = readSync(fd, into, at + filled, size - filled, null);
      if (n === 0) throw new Error(`${path} shrank while its layer was being written (expected ${size} bytes)`);
      filled += n;
    }
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
      const want = Math.min(left, 1 << 20);
      const into = await sink.reserve(want);
      const { bytesRead } = await fh.read(into, 0, want, null);
      if (bytesRead === 0) throw new Error(`${path} shrank while its layer was being written (expected ${size} bytes)`);
      sink.giveBack(want - bytesRead);
      left -= bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/**
 * Fills chunks that go downstream whole (every write there, hashing and the file, costs per
 * call): headers and padding are copied in, file data is read straight into the chunk, so the
 * bytes of a layer are copied once in user space and no buffer per file is made. Waits for
 * 'drain' when the destination pushes back, so a huge layer never piles up in memory.
 */
class BatchingWriter {
  /** The chunk being filled. */
  chunk: Buffer;
  private used = 0;
  private blocked = false;
  private failure: Error | undefined;

  private readonly onError = (err: Error) => {
    this.failure ??= err;
  };

  /** Written chunks `out` is done with (when `reuse`), to be filled again. */
  private readonly spare: Buffer[] = [];

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly reuse: boolean,
  ) {
    // small first, as most layers are; each next chunk is larger, up to CHUNK
    this.chunk = Buffer.allocUnsafe(FIRST_CHUNK);
    out.on('error', this.onError);
  }

  dispose(): void {
    this.out.off('error', this.onError);
  }

  /** Copies `b` in. */
  push(b: Buffer): void {
    if (this.used + b.length > this.chunk.length) this.handOff();
    if (b.length > this.chunk.length) {
      this.blocked = !this.out.write(b) || this.blocked;
      return;
    }
    b.copy(this.chunk, this.used);
    this.used += b.length;
  }

  zeros(n: number): void {
    if (n === 0) return;
    if (this.used + n > this.chunk.length) this.handOff();
    this.chunk.fill(0, this.used, this.used + n);
    this.used += n;
  }

  /**
   * The next `n` bytes of the chunk (n at most CHUNK), counted as written: the caller fills them
   * before its next call, or gives back what it did not fill.
   */
  async reserve(n: number): Promise<Buffer> {
    if (this.used + n > this.chunk.length) this.handOff(n);
    await this.drained();
    const at = this.claim(n);
    return this.chunk.subarray(at, at + n);
  }

  /** As `reserve` without waiting for downstream (the caller waits after the entry): where in `chunk` to fill. */
  claim(n: number): number {
    if (this.used + n > this.chunk.length) this.handOff(n);
    const at = this.used;
    this.used += n;
    return at;
  }

  /** The last `n` reserved bytes were not filled after all. */
  giveBack(n: number): void {
    this.used -= n;
  }

  /** After each entry: waits while downstream is full. */
  drained(): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    if (!this.blocked) return undefined;
    return this.drain();
  }

  private async drain(): Promise<void> {
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
    this.blocked = false;
  }

  /** Sends what is left downstream. */
  async end(): Promise<void> {
    if (this.used > 0) this.blocked = !this.out.write(this.chunk.subarray(0, this.used)) || this.blocked;
    this.used = 0;
    await this.drained();
  }

  /** Writes the filled part and takes another chunk: a spare one when `out` is done with it, else a new one. */
  private handOff(need = 0): void {
    if (this.used > 0) {
      const full = this.chunk;
      const sent = this.reuse
        ? this.out.write(full.subarray(0, this.used), (err) => {
            if (!err) this.spare.push(full);
          })
        : this.out.write(full.subarray(0, this.used));
      this.blocked = !sent || this.blocked;
    }
    const size = Math.max(need, Math.min(CHUNK, this.chunk.length * 4));
    // spares smaller than that (from the first, smaller chunks) are dropped
    let spare = this.spare.pop();
    while (spare && spare.length < size) spare = this.spare.pop();
    this.chunk = spare ?? Buffer.allocUnsafe(size);
    this.used = 0;
  }
}
