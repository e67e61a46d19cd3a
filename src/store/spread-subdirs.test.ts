import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spreadSubdirs } from './spread-subdirs.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-spread-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** The T flag as lsattr shows it, or undefined where the filesystem has no such flags. */
function topFlag(path: string): boolean | undefined {
  try {
    const attrs = execFileSync('lsattr', ['-d', path], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .split(' ')[0]!;
    return attrs.includes('T');
  } catch {
    return undefined;
  }
}

describe('spreadSubdirs', () => {
  it('marks the dirs once, and leaves a marker so later builds do not ask again', async (t) => {
    const a = join(dir, 'snapshots');
    const b = join(dir, 'cache');
    await Promise.all([mkdir(a), mkdir(b)]);
    if (topFlag(a) === undefined) t.skip(); // not ext2/3/4: chattr has nothing to set
    const marker = join(a, '.spread');
    await spreadSubdirs([a, b], marker);
    expect([topFlag(a), topFlag(b)]).toEqual([true, true]);
    expect(existsSync(marker)).toBe(true);
    execFileSync('chattr', ['-T', a]);
    await spreadSubdirs([a, b], marker);
    expect(topFlag(a)).toBe(false);
  });

  it('a filesystem or dir that refuses the flag changes nothing and is not an error', async () => {
    const marker = join(dir, '.spread');
    await spreadSubdirs([join(dir, 'missing')], marker);
    expect(existsSync(marker)).toBe(true);
  });
});
