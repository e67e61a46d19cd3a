import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { constants as Z, gzip, type ZlibOptions } from 'node:zlib';

/**
 * gzip that uses every core: the input is cut into fixed 1 MiB chunks, each compressed as an
 * independent gzip member in the libuv threadpool, and the members are written in input order.
 * Concatenated members are one valid gzip stream (RFC 1952 §2.2; Go's, zlib's and docker's
 * readers all accept them). Chunk boundaries depend only on byte offsets, never on how the input
 * arrives or how many cores there are, so the same input always gives the same bytes.
 *
 * Chunks on which LZ matching gains almost nothing (already-compressed or random data, base64)
 * are Huffman-coded only, or stored when even that gains nothing: the same size within a
 * percent or two at a fraction of the CPU (see gzipChunk).
 */
export const GZIP_CHUNK = 1 << 20;
/** zlib's and Go's default. */
export const DEFAULT_GZIP_LEVEL = 6;
const SAMPLE = 16 << 10;
/** Below this share of sample bytes in 4-byte-or-longer repeats, LZ matching is not worth its cost. */
const LZ_WORTH = 0.08;
/** From this level up the caller asked for the smallest output, whatever it costs. */
const ALWAYS_LZ_LEVEL = 7;

function gzipAsync(data: Buffer, opts: ZlibOptions): Promise<Buffer> {
  // chunkSize: one output buffer per call; the 16 KiB default costs a threadpool hop per 16 KiB.
  return new Promise((resolve, reject) =>
    gzip(data, { chunkSize: Math.max(64 << 10, data.length + 1024), ...opts }, (err, out) =>
      err ? reject(err) : resolve(out),
    ),
  );
}

/**
 * The share of `sample` that LZ77 could encode as back-references: a greedy pass with a
 * 4-byte hash table, as LZ4's match finder does. Random, encrypted, already-compressed and
 * base64 data score near 0; text, code and binaries score far higher. Cheap (well under a
 * millisecond) and depends only on the bytes, so the choice it drives is reproducible.
 */
export function repeatShare(sample: Buffer): number {
  const table = new Int32Array(1 << 14).fill(-1);
  let matched = 0;
  for (let i = 0; i + 4 <= sample.length; ) {
    const v = sample.readUInt32LE(i);
    const h = Math.imul(v, 2654435761) >>> 18;
    const j = table[h]!;
    table[h] = i;
    if (j >= 0 && sample.readUInt32LE(j) === v) {
      let len = 4;
      while (i + len < sample.length && sample[j + len] === sample[i + len]) len++;
      matched += len;
      i += len;
    } else i++;
  }
  return matched / Math.max(1, sample.length);
}

/** Shannon entropy of the byte values, in bits per byte (8: nothing for Huffman coding to gain). */
export function byteEntropy(sample: Buffer): number {
  const counts = new Uint32Array(256);
  for (const b of sample) counts[b]!++;
  let bits = 0;
  for (const c of counts) {
    if (c === 0) continue;
    const p = c / sample.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Above this many bits per byte Huffman coding saves under 1%: the chunk is stored as it is. */
const STORE_ENTROPY = 7.92;

/**
 * Compresses one chunk as a complete gzip member (no name, mtime 0: reproducible). The method
 * follows from a sample of the chunk: LZ77 + Huffman at `level` where there are repeats,
 * Huffman coding alone where the bytes are merely skewed (base64, hex), and stored deflate
 * blocks where they are random (compressed or encrypted data), as klauspost/compress does.
 */
export async function gzipChunk(data: Buffer, level: number): Promise<Buffer> {
  if (level === 0 || level >= ALWAYS_LZ_LEVEL || data.length <= SAMPLE) return gzipAsync(data, { level });
  const sample = data.subarray(0, SAMPLE);
  if (repeatShare(sample) >= LZ_WORTH) return gzipAsync(data, { level });
  if (byteEntropy(sample) > STORE_ENTROPY) return gzipAsync(data, { level: 0 });
  return gzipAsync(data, { level, strategy: Z.Z_HUFFMAN_ONLY });
}

/** Finished members are handed on in pieces of at least this size: few large writes cost far less than many small ones. */
const OUTPUT_BATCH = 4 << 20;

export class ParallelGzip extends Transform {
  private pending: Buffer[] = [];
  private pendingSize = 0;
  private ready: Buffer[] = [];
  private readySize = 0;
  private readonly inFlight: Promise<Buffer>[] = [];
  private readonly maxInFlight: number;

  constructor(private readonly level: number = DEFAULT_GZIP_LEVEL) {
    super({ readableHighWaterMark: 4 << 20, writableHighWaterMark: 1 << 20 });
    // one more than the cores, so a core never waits for the main thread to cut the next chunk
    this.maxInFlight = availableParallelism() + 1;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.accept(chunk).then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    (async () => {
      // An empty input still has to be a gzip stream: one empty member.
      if (this.pendingSize > 0 || this.inFlight.length === 0) this.start(this.cut(this.pendingSize));
      while (this.inFlight.length) this.hand(await this.inFlight.shift()!);
      if (this.readySize) this.push(Buffer.concat(this.ready, this.readySize));
    })().then(() => cb(), cb);
  }

  private async accept(chunk: Buffer): Promise<void> {
    this.pending.push(chunk);
    this.pendingSize += chunk.length;
    while (this.pendingSize >= GZIP_CHUNK) {
      this.start(this.cut(GZIP_CHUNK));
      // Wait for the oldest member rather than queueing more: bounded memory, ordered output.
      if (this.inFlight.length >= this.maxInFlight) this.hand(await this.inFlight.shift()!);
    }
  }

  private hand(member: Buffer): void {
    this.ready.push(member);
    this.readySize += member.length;
    if (this.readySize < OUTPUT_BATCH) return;
    this.push(this.ready.length === 1 ? this.ready[0]! : Buffer.concat(this.ready, this.readySize));
    this.ready = [];
    this.readySize = 0;
  }

  private start(data: Buffer): void {
    const job = gzipChunk(data, this.level);
    job.catch(() => {}); // awaited in order later; a rejection must not count as unhandled before then
    this.inFlight.push(job);
  }

  /** Takes the first `n` pending bytes as one buffer. */
  private cut(n: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingSize);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.pending = rest.length ? [rest] : [];
    this.pendingSize = rest.length;
    return out;
  }
}
