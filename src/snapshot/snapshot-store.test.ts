import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SnapshotStore } from './snapshot-store.js';

let tmp: string;
let store: SnapshotStore;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-snapshot-store-test-'));
  store = new SnapshotStore(join(tmp, 'snapshots'));
  await store.init();
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('SnapshotStore', () => {
  it('names paths under the root', () => {
    expect(store.dir('abc')).toBe(join(tmp, 'snapshots', 'abc'));
    expect(store.fsDir('abc')).toBe(join(tmp, 'snapshots', 'abc', 'fs'));
    expect(store.relativeFsDir('abc')).toBe('abc/fs');
  });

  it('prepare makes fs and work dirs under a pending name, invisible as the id', async () => {
    const p = await store.prepare('s1');
    expect(p.id).toBe('s1');
    expect(p.root.startsWith(join(tmp, 'snapshots', '.pending-s1-'))).toBe(true);
    expect((await stat(p.fs)).isDirectory()).toBe(true);
    expect((await stat(p.work)).isDirectory()).toBe(true);
    await writeFile(join(p.fs, 'hello'), 'hi');
    expect(await store.exists('s1')).toBe(false);
  });

  it('commit moves the snapshot into place with what was written beside fs/, and drops work/', async () => {
    const p = await store.prepare('s1');
    await writeFile(join(p.fs, 'hello'), 'hi');
    await writeFile(join(p.root, 'encodings.json'), '{"encodings":[]}');
    await store.commit(p);
    expect(await store.exists('s1')).toBe(true);
    expect(await readFile(join(store.fsDir('s1'), 'hello'), 'utf8')).toBe('hi');
    expect((await readdir(store.dir('s1'))).sort()).toEqual(['encodings.json', 'fs']);
    expect((await readdir(store.root)).filter((n) => n.startsWith('.pending-'))).toEqual([]);
  });

  it('commit when the id already exists keeps the existing snapshot and cleans up', async () => {
    const first = await store.prepare('dup');
    const second = await store.prepare('dup');
    await writeFile(join(first.fs, 'who'), 'first');
    await writeFile(join(second.fs, 'who'), 'second');
    await store.commit(first);
    await store.commit(second);
    expect(await readFile(join(store.fsDir('dup'), 'who'), 'utf8')).toBe('first');
    expect((await readdir(store.root)).sort()).toEqual(['dup']);
  });

  it('discard removes a pending snapshot', async () => {
    const p = await store.prepare('gone');
    await writeFile(join(p.fs, 'x'), 'x');
    await store.discard(p);
    expect(await readdir(store.root)).toEqual([]);
    expect(await store.exists('gone')).toBe(false);
  });

  it('create commits what fn wrote and returns what fn returned', async () => {
    const got = await store.create('c1', async (p) => {
      expect(p.id).toBe('c1');
      await writeFile(join(p.fs, 'hello'), 'hi');
      return 42;
    });
    expect(got).toBe(42);
    expect(await readFile(join(store.fsDir('c1'), 'hello'), 'utf8')).toBe('hi');
    expect((await readdir(store.dir('c1'))).sort()).toEqual(['fs']);
    expect((await readdir(store.root)).sort()).toEqual(['c1']);
  });

  it('create discards and rethrows when fn throws', async () => {
    const boom = new Error('boom');
    await expect(
      store.create('c3', async (p) => {
        await writeFile(join(p.fs, 'x'), 'x');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await readdir(store.root)).toEqual([]);
  });

  it('create discards when the signal was aborted while fn ran', async () => {
    const abort = new AbortController();
    const reason = new Error('cancelled by test');
    await expect(
      store.create(
        'c4',
        async () => {
          abort.abort(reason);
        },
        { signal: abort.signal },
      ),
    ).rejects.toBe(reason);
    expect(await readdir(store.root)).toEqual([]);
  });

  it('create keeps the snapshot another build committed first', async () => {
    await store.create('c5', async (p) => {
      await writeFile(join(p.fs, 'who'), 'first');
      await store.create('c5', async (q) => {
        await writeFile(join(q.fs, 'who'), 'second');
      });
    });
    expect(await readFile(join(store.fsDir('c5'), 'who'), 'utf8')).toBe('second');
    expect((await readdir(store.root)).sort()).toEqual(['c5']);
  });

  it('exists needs an fs directory', async () => {
    await mkdir(store.dir('half'));
    expect(await store.exists('half')).toBe(false);
    await writeFile(join(store.dir('half'), 'fs'), 'not a dir');
    expect(await store.exists('half')).toBe(false);
  });
});
