import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashFileContent } from './context-source.js';
import { hashFileFast } from './file-hash.js';

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
      expect(await hashFileFast(p), `size ${size}`).toBe(await hashFileContent(p));
    }
  });
});
