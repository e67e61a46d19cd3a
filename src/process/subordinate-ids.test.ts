import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSubordinateIds, readSubordinateIds } from './subordinate-ids.js';

describe('parseSubordinateIds', () => {
  const file = 'alice:100000:65536\nbob:165536:65536\n1003:231072:1000\n';

  it("finds the user's range by name", () => {
    expect(parseSubordinateIds(file, 'bob', 1002)).toEqual({ start: 165536, count: 65536 });
  });

  it('finds it by uid, as newuidmap accepts', () => {
    expect(parseSubordinateIds(file, 'carol', 1003)).toEqual({ start: 231072, count: 1000 });
  });

  it('takes the first of several ranges', () => {
    expect(parseSubordinateIds('alice:300000:10\nalice:100000:65536\n', 'alice', 1)).toEqual({
      start: 300000,
      count: 10,
    });
  });

  it('none for a user the file does not name, or a broken line', () => {
    expect(parseSubordinateIds(file, 'dave', 1004)).toBeUndefined();
    expect(parseSubordinateIds('dave:x:65536\ndave:100000:0\n', 'dave', 1004)).toBeUndefined();
  });
});

describe('readSubordinateIds', () => {
  it('a missing file grants nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'subids-'));
    try {
      expect(await readSubordinateIds(join(dir, 'subuid'), 'alice', 1000)).toBeUndefined();
      await writeFile(join(dir, 'subuid'), 'alice:100000:65536\n');
      expect(await readSubordinateIds(join(dir, 'subuid'), 'alice', 1000)).toEqual({ start: 100000, count: 65536 });
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
