import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capCheckNeeded, freeBytes, recordCacheSize, recordFreshEstimate } from './cap-estimate.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsbuild-cap-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('capCheckNeeded', () => {
  it('asks for a measure when there is none, or it is unreadable', async () => {
    expect(capCheckNeeded(root, 1e12)).toBe(true);
    await writeFile(join(root, 'cache-size.json'), '{"bytes":"x"}');
    expect(capCheckNeeded(root, 1e12)).toBe(true);
  });

  it('skips the measure while the last one plus what the filesystem lost since stays well under the cap', async () => {
    const now = Date.now();
    await recordCacheSize(root, 1000, now);
    expect(capCheckNeeded(root, 1e12, now + 1000)).toBe(false);
    // near the cap (within 10%)
    expect(capCheckNeeded(root, 1050, now + 1000)).toBe(true);
    // too old, or from the future (clock moved back)
    expect(capCheckNeeded(root, 1e12, now + 11 * 60_000)).toBe(true);
    expect(capCheckNeeded(root, 1e12, now - 1000)).toBe(true);
  });

  it('counts space the filesystem lost since the measure as cache growth', async () => {
    const now = Date.now();
    await writeFile(
      join(root, 'cache-size.json'),
      JSON.stringify({ bytes: 1000, free: Number.MAX_SAFE_INTEGER, at: now }),
    );
    expect(capCheckNeeded(root, 1e15, now)).toBe(true);
  });

  it('for a state dir this build made, goes by what the filesystem lost since, with no record needed', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'tsbuild-cap-fresh-'));
    try {
      const free = freeBytes(fresh);
      expect(capCheckNeeded(fresh, 1e12, Date.now(), free)).toBe(false);
      // lost more than 90% of the cap since the build started
      expect(capCheckNeeded(fresh, 1000, Date.now(), free + 1_000_000)).toBe(true);
      // and the next build, with no record, measures
      expect(capCheckNeeded(fresh, 1e12)).toBe(true);
      // unless the build recorded its bound: the filesystem's loss (1 MB here) stands for a measure
      await recordFreshEstimate(fresh, free + 1_000_000);
      expect(capCheckNeeded(fresh, 1e12)).toBe(false);
      expect(capCheckNeeded(fresh, 1_000_000)).toBe(true);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });
});
