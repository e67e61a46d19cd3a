import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadStream } from 'node:fs';
import { hashFileFast } from './file-hash.js';
import { xxh } from './xxhash.js';

/** The plain streaming xxh64, as an oracle for the buffer-reusing hasher. */
async function streamingHash(abs: string): Promise<string> {
  const h = (await xxh()).create64();
  for await (const chunk of createReadStream(abs, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest().toString(16).padStart(16, '0');
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-filehash-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('hashFileFast', () => {
  it('gives the same hash as the streaming hasher, for empty, small, exact-buffer and large files', async () => {
    for (const size of [0, 1, 4096, 4 << 20, (4 << 20) + 1, 9 << 20]) {
      const p = join(dir, `f${size}`);
      await writeFile(p, randomBytes(size));
      expect(await hashFileFast(p), `size ${size}`).toBe(await streamingHash(p));
    }
  });
});

describe('hashFileFast: a FIFO where a file was', () => {
  it('does not wait for a writer that never comes', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const settled = await Promise.race([
      hashFileFast(fifo).then(
        () => 'settled',
        () => 'settled',
      ),
      new Promise((r) => setTimeout(() => r('hung'), 2000)),
    ]);
    expect(settled).toBe('settled');
  });
});

describe('hashFileFast: content hash', () => {
  it('is a 16-hex xxh64 of the content', async () => {
    await writeFile(join(dir, 'f'), 'hello');
    await writeFile(join(dir, 'g'), 'hello');
    await writeFile(join(dir, 'h'), 'hellO');
    await writeFile(join(dir, 'e'), '');
    const f = await hashFileFast(join(dir, 'f'));
    expect(f).toMatch(/^[0-9a-f]{16}$/);
    expect(await hashFileFast(join(dir, 'g'))).toBe(f);
    expect(await hashFileFast(join(dir, 'h'))).not.toBe(f);
    expect(await hashFileFast(join(dir, 'e'))).toMatch(/^[0-9a-f]{16}$/);
  });
});
