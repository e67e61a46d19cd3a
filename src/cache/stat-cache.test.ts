import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeStatCache, encodeStatCache, StatCache, statCacheFile } from './stat-cache.js';
import { readFile } from 'node:fs/promises';

let tmp: string;
let ctx: string;
let state: string;
let reads: string[];
const hashContent = async (abs: string): Promise<string> => {
  reads.push(abs);
  const data = await readFile(abs);
  return data.length.toString(16).padStart(16, '0');
};
/** Files written "long ago", so their hashes are not racy and get persisted. */
async function oldFile(rel: string, content: string): Promise<string> {
  const p = join(ctx, rel);
  await writeFile(p, content);
  const past = new Date(Date.now() - 60_000);
  await utimes(p, past, past);
  await wait(5); // ctime is now: step past the (test's 1 ms) racy window
  return p;
}
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-statcache-'));
  ctx = join(tmp, 'ctx');
  state = join(tmp, 'state');
  await import('node:fs/promises').then((fs) => fs.mkdir(ctx, { recursive: true }));
  reads = [];
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('stat cache encoding', () => {
  it('round-trips entries', () => {
    const m = new Map([
      [
        'a/b.txt',
        {
          dev: 2049,
          ino: 123456789,
          size: 10,
          mtimeMs: 1700000000123.456,
          ctimeMs: 1700000000999.5,
          hash: '00ff00ff00ff00ff',
        },
      ],
    ]);
    expect(decodeStatCache(encodeStatCache(m))).toEqual(m);
  });
  it('ignores a torn or foreign file', () => {
    const buf = encodeStatCache(
      new Map([['x', { dev: 1, ino: 2, size: 3, mtimeMs: 4, ctimeMs: 5, hash: '0123456789abcdef' }]]),
    );
    expect(decodeStatCache(buf.subarray(0, buf.length - 3)).size).toBe(0);
    const flipped = Buffer.from(buf);
    flipped[20] ^= 1;
    expect(decodeStatCache(flipped).size).toBe(0);
    expect(decodeStatCache(Buffer.from('not a cache')).size).toBe(0);
  });
});

describe('StatCache', () => {
  it('for a fresh scratch copy of a context: hashes each file once per build and keeps no file', async () => {
    const p = await oldFile('a.txt', 'hello');
    const c = StatCache.forFreshFiles(ctx, hashContent);
    const h = await c.hashFile(p);
    expect(await c.hashFile(p)).toBe(h);
    expect(reads).toEqual([p]);
    expect(c.hashes.get(p)).toBe(h);
    await c.save();
    await expect(readFile(statCacheFile(state, ctx))).rejects.toThrow(/ENOENT/);
    await expect(import('node:fs/promises').then((fs) => fs.readdir(state))).rejects.toThrow(/ENOENT/);
  });

  it('answers an unchanged file from stat alone in the next build', async () => {
    const p = await oldFile('a.txt', 'hello');
    const first = await StatCache.load(state, ctx, hashContent, { racyMs: 1 });
    const h = await first.hashFile(p);
    await first.save();
    expect(reads).toEqual([p]);
    const second = await StatCache.load(state, ctx, hashContent, { racyMs: 1 });
    expect(await second.hashFile(p)).toBe(h);
    expect(reads).toEqual([p]);
    expect(second.hits).toBe(1);
  });

  it('re-reads a touched file (same hash), and an edited one', async () => {
    const p = await oldFile('a.txt', 'hello');
    const c1 = await StatCache.load(state, ctx, hashContent, { racyMs: 1 });
    const h = await c1.hashFile(p);
    await c1.save();
    await wait(5);
    const now = new Date();
    await utimes(p, now, now);
    const c2 = await StatCache.load(state, ctx, hashContent, { racyMs: 1 });
    expect(await c2.hashFile(p)).toBe(h);
    expect(c2.misses).toBe(1);
    await writeFile(p, 'hello, world');
    const c3 = await StatCache.load(state, ctx, hashContent, { racyMs: 1 });
    expect(await c3.hashFile(p)).not.toBe(h);
  });

  it('does not persist a hash whose file changed within the racy window', async () => {
    const p = join(ctx, 'fresh.txt');
    await writeFile(p, 'just written');
    const c1 = await StatCache.load(state, ctx, hashContent);
    await c1.hashFile(p);
    await c1.save();
    const c2 = await StatCache.load(state, ctx, hashContent);
    await c2.hashFile(p);
    expect(reads).toEqual([p, p]);
  });

  it('keeps one file per context dir and drops entries of deleted files', async () => {
    const a = await oldFile('a.txt', 'a');
    const b = await oldFile('b.txt', 'b');
    const c1 = await StatCache.load(state, ctx, hashContent, { racyMs: 1 });
    await c1.hashFile(a);
    await c1.hashFile(b);
    await c1.save();
    await rm(b);
    const c = await oldFile('c.txt', 'c');
    const c2 = await StatCache.load(state, ctx, hashContent, { racyMs: 1 });
    await c2.hashFile(c);
    await c2.save();
    const entries = decodeStatCache(await readFile(statCacheFile(state, ctx)));
    expect([...entries.keys()].sort()).toEqual(['a.txt', 'c.txt']);
  });
});
