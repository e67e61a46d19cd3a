import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordPeakRss } from './peak-rss.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-peak-rss-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('recordPeakRss', () => {
  it("appends this process's peak RSS in kB, one line a call, a relative path from cwd", async () => {
    recordPeakRss({ TSBUILD_PEAK_RSS_FILE: join(dir, 'rss') });
    recordPeakRss({ TSBUILD_PEAK_RSS_FILE: 'rss' }, dir);
    const lines = (await readFile(join(dir, 'rss'), 'utf8')).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    for (const l of lines.slice(0, 2)) {
      // vitest's worker holds tens of MB; a figure in bytes or pages would be far off
      expect(Number(l)).toBeGreaterThan(20_000);
      expect(Number(l)).toBeLessThan(4_000_000);
    }
    expect(Number(lines[1])).toBeGreaterThanOrEqual(Number(lines[0]));
  });
  it('does nothing without the variable, and never throws', async () => {
    recordPeakRss({}, dir);
    recordPeakRss({ TSBUILD_PEAK_RSS_FILE: join(dir, 'no', 'such', 'dir', 'rss') });
    await expect(readFile(join(dir, 'rss'))).rejects.toThrow(/ENOENT/);
  });
});
