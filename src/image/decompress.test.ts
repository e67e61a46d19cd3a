import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { EnvironmentError } from '../errors.js';
import { decompressStream, sniffCompression } from './decompress.js';

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Splits into small chunks so the sniffer has to gather its header across several. */
const trickle = (b: Buffer) =>
  Readable.from(Array.from({ length: Math.ceil(b.length / 3) }, (_, i) => b.subarray(i * 3, i * 3 + 3)));

const hasZstd = (() => {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('decompressStream', () => {
  const plain = Buffer.concat(
    [
      randomBytes(8000)
        .toString('hex')
        .match(/.{1,3}/g)!
        .map((s) => Buffer.from(`${s} `)),
      [Buffer.alloc(1024)],
    ].flat(),
  );

  it('passes a plain tar through, however it is chunked', async () => {
    expect((await collect(decompressStream(trickle(plain)))).equals(plain)).toBe(true);
    expect((await collect(decompressStream(Readable.from([])))).length).toBe(0);
  });

  it('gunzips, including concatenated members from a parallel compressor', async () => {
    const a = plain.subarray(0, 5000);
    const b = plain.subarray(5000);
    const multi = Buffer.concat([gzipSync(a), gzipSync(b)]);
    expect(sniffCompression(multi)).toBe('gzip');
    expect((await collect(decompressStream(trickle(multi)))).equals(plain)).toBe(true);
  });

  it.runIf(hasZstd)('decodes zstd with the zstd program', async () => {
    const z = execFileSync('zstd', ['-c', '-q'], { input: plain });
    expect(sniffCompression(z)).toBe('zstd');
    expect((await collect(decompressStream(Readable.from([z])))).equals(plain)).toBe(true);
  });

  it.runIf(hasZstd)('reports corrupt zstd data', async () => {
    const z = execFileSync('zstd', ['-c', '-q'], { input: plain });
    z.fill(0x55, 20, 60);
    await expect(collect(decompressStream(Readable.from([z])))).rejects.toThrow(/zstd/);
  });

  it('says what to install when zstd is needed but missing', async () => {
    const z = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]);
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const err = await collect(decompressStream(Readable.from([z]))).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect(err).toMatchObject({
        message: expect.stringMatching(/^zstd is not installed .*zstd-compressed/),
        hint: expect.stringMatching(/apt-get install zstd/),
      });
    } finally {
      process.env.PATH = path;
    }
  });

  it('reports a corrupt gzip stream and refuses xz/bzip2 clearly', async () => {
    const gz = gzipSync(plain);
    gz.fill(0, 30, 80);
    await expect(collect(decompressStream(Readable.from([gz])))).rejects.toThrow();
    const xz = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]);
    await expect(collect(decompressStream(Readable.from([xz])))).rejects.toThrow(/xz-compressed/);
    await expect(collect(decompressStream(Readable.from([Buffer.from('BZh91AY')])))).rejects.toThrow(/bzip2/);
  });

  it('propagates an error of the source', async () => {
    const src = new Readable({ read() {} });
    const out = collect(decompressStream(src));
    src.push(gzipSync(plain).subarray(0, 100));
    src.destroy(new Error('network reset'));
    await expect(out).rejects.toThrow(/network reset/);
  });
});
