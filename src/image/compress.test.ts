import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compressStream, compressionOfMediaType, layerMediaType } from './compress.js';
import { decompressStream } from './decompress.js';
import { createLayerBlob, type BlobSink } from './layer-blob.js';
import { GZIP_CHUNK, byteEntropy, repeatShare } from './parallel-gzip.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Deterministic test data: text (repeats), base64 (skewed bytes, no repeats), random-looking bytes. */
function mixed(size: number): Buffer {
  const parts: Buffer[] = [];
  let seed = createHash('sha256').update('tsbuild').digest();
  let n = 0;
  while (n < size) {
    seed = createHash('sha256').update(seed).digest();
    const kind = seed[0]! % 3;
    const len = 200_000 + (seed[1]! << 10);
    let piece: Buffer;
    if (kind === 0)
      piece = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(Math.ceil(len / 44)).slice(0, len));
    else {
      const blocks: Buffer[] = [];
      for (let i = 0; i < len; i += 32) blocks.push((seed = createHash('sha256').update(seed).digest()));
      piece = Buffer.concat(blocks).subarray(0, len);
      if (kind === 1) piece = Buffer.from(piece.toString('base64')).subarray(0, len);
    }
    parts.push(piece);
    n += piece.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

/** Feeds `data` in pieces of the given sizes (cycling), as a real producer would. */
function pieces(data: Buffer, sizes: number[]): Readable {
  const out: Buffer[] = [];
  for (let i = 0, k = 0; i < data.length; k++) {
    const n = sizes[k % sizes.length]!;
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return Readable.from(out);
}

async function compress(
  data: Buffer,
  kind: 'gzip' | 'zstd' | 'uncompressed',
  sizes = [65536],
  level?: number,
): Promise<Buffer> {
  return buffer(pieces(data, sizes).pipe(compressStream(kind, level)));
}

describe('parallel gzip', () => {
  const data = mixed(5 * GZIP_CHUNK + 12345);

  it('is one valid gzip stream (concatenated members) that gunzip and the gzip program read back', async () => {
    const gz = await compress(data, 'gzip');
    expect(gunzipSync(gz).equals(data)).toBe(true);
    expect(execFileSync('gzip', ['-dc'], { input: gz, maxBuffer: 64 << 20 }).equals(data)).toBe(true);
    // every member: magic, deflate, no name flag, mtime 0 (reproducible whatever the clock)
    expect([...gz.subarray(0, 8)]).toEqual([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0]);
    expect(gz.length).toBeLessThan(data.length);
  });

  it('gives the same bytes however the input is cut into writes', async () => {
    const a = await compress(data, 'gzip', [65536]);
    const b = await compress(data, 'gzip', [1, 7000, 3 << 20, 999]);
    expect(sha(b)).toBe(sha(a));
  });

  it('an empty input is still a gzip stream', async () => {
    const gz = await compress(Buffer.alloc(0), 'gzip');
    expect(gunzipSync(gz).length).toBe(0);
  });

  it('tells repeats and random bytes apart (what picks LZ, Huffman or stored)', () => {
    const text = Buffer.from('some text that repeats, some text that repeats\n'.repeat(800));
    const random = randomBytes(32768);
    expect(repeatShare(text)).toBeGreaterThan(0.5);
    expect(repeatShare(random)).toBeLessThan(0.01);
    expect(repeatShare(Buffer.from(random.toString('base64')))).toBeLessThan(0.01);
    expect(byteEntropy(random)).toBeGreaterThan(7.9);
    expect(byteEntropy(Buffer.from(random.toString('base64')))).toBeLessThan(6.1);
  });

  it('level 9 compresses at least as well as the default', async () => {
    const text = Buffer.from('abcdefgh'.repeat(300_000));
    expect((await compress(text, 'gzip', [65536], 9)).length).toBeLessThanOrEqual(
      (await compress(text, 'gzip')).length,
    );
  });
});

describe('zstd and uncompressed', () => {
  const data = mixed(3 * GZIP_CHUNK);

  it('zstd round-trips through decompressStream and is reproducible', async () => {
    const a = await compress(data, 'zstd');
    const b = await compress(data, 'zstd', [1 << 20, 333]);
    expect(a.readUInt32LE(0)).toBe(0xfd2fb528);
    expect(sha(b)).toBe(sha(a));
    expect((await buffer(decompressStream(Readable.from([a])))).equals(data)).toBe(true);
  });

  it('uncompressed passes the tar through', async () => {
    expect((await compress(data, 'uncompressed')).equals(data)).toBe(true);
  });

  it('media types', () => {
    expect(layerMediaType('gzip')).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(layerMediaType('zstd')).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect(layerMediaType('uncompressed')).toBe('application/vnd.oci.image.layer.v1.tar');
    expect(compressionOfMediaType('application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe('gzip');
    expect(compressionOfMediaType('application/vnd.oci.image.config.v1+json')).toBeUndefined();
  });
});

describe('createLayerBlob with a compression', () => {
  const tar = mixed(2 * GZIP_CHUNK);
  const sink = (): BlobSink & { bytes(): Buffer } => {
    let all: Buffer = Buffer.alloc(0);
    return {
      bytes: () => all,
      async ingest(source) {
        all = await buffer(source);
        return { digest: sha(all), size: all.length };
      },
    };
  };
  const writeTar = async (out: NodeJS.WritableStream) => {
    out.end(tar);
  };

  for (const compression of ['gzip', 'zstd', 'uncompressed'] as const) {
    it(`${compression}: diffID is the tar's sha256, digest the blob's`, async () => {
      const s = sink();
      const blob = await createLayerBlob(writeTar, s, { compression });
      expect(blob.diffId).toBe(sha(tar));
      expect(blob.digest).toBe(sha(s.bytes()));
      expect(blob.mediaType).toBe(layerMediaType(compression));
      if (compression === 'uncompressed') expect(blob.digest).toBe(blob.diffId);
      expect((await buffer(decompressStream(Readable.from([s.bytes()])))).equals(tar)).toBe(true);
    });
  }
});
