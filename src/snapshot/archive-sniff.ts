import type { Readable } from 'node:stream';
import { openArchive } from './archive-stream.js';

/** Reads up to `n` bytes from the start of a stream, then lets go of it. */
async function readHead(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= n) break;
    }
  } catch {
    // corrupt compressed data: whatever was decoded before it is all there is
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, n);
}

/** A tar header block whose checksum field agrees with its bytes (unsigned or signed sum, as Go accepts). */
export function isTarHeader(block: Buffer): boolean {
  if (block.length < 512 || block.every((b) => b === 0)) return false;
  const field = block
    .toString('latin1', 148, 156)
    .replace(/[\0 ]+$/, '')
    .trim();
  if (!/^[0-7]+$/.test(field)) return false;
  const want = parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

/**
 * True when ADD would extract the file: once decompressed (gzip, bzip2, xz, zstd or none) it
 * starts with a valid tar header, which is BuildKit's test (its tar reader's first Next()). A
 * compressed file that is not a tar, or an empty tar, is copied as it is.
 */
export async function isTarArchive(path: string): Promise<boolean> {
  let stream: Readable;
  try {
    stream = await openArchive(path);
  } catch {
    return false;
  }
  stream.on('error', () => {});
  return isTarHeader(await readHead(stream, 512));
}
