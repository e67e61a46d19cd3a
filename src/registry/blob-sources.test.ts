import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobSources } from './blob-sources.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
let dir: string;
let sources: BlobSources;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-blob-sources-'));
  sources = new BlobSources(join(dir, 'blob-sources'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('BlobSources', () => {
  it('lists the blobs it has notes of', async () => {
    expect(await sources.list()).toEqual([]);
    await sources.add(digest('a'), 'r.io', 'x/y');
    await sources.add(digest('b'), 'r.io', 'x/z');
    expect((await sources.list()).sort()).toEqual([digest('a'), digest('b')]);
    expect(await sources.mountCandidates(digest('a'), 'r.io', 'other')).toEqual(['x/y']);
  });

  it('prune drops notes of gone blobs and files that are no note, keeps temp files; all drops every note', async () => {
    await sources.add(digest('a'), 'r.io', 'x/y');
    await sources.add(digest('b'), 'r.io', 'x/y');
    await writeFile(join(sources.dir, 'stray'), '[]');
    await writeFile(join(sources.dir, '.tmp-being-written'), '');
    const has = async (d: string) => d === digest('a');
    expect(await sources.prune({ all: false, has })).toBe(2);
    expect((await readdir(sources.dir)).sort()).toEqual(['.tmp-being-written', 'a'.repeat(64)]);
    expect(await sources.prune({ all: true, has })).toBe(1);
    expect(await sources.list()).toEqual([]);
    expect(await sources.prune({ all: true, has })).toBe(0);
  });

  it('prune of a state dir without notes removes nothing', async () => {
    expect(await sources.prune({ all: true, has: async () => false })).toBe(0);
  });
});
