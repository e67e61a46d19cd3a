import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMounted } from './overlay.js';
import { acquireRootfs, type ChainMountContext, withRootfs } from './mount-chain.js';
import { SnapshotStore } from './snapshot-store.js';

let tmp: string;
let ctx: ChainMountContext;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-mount-chain-test-'));
  const snapshots = new SnapshotStore(join(tmp, 'snapshots'));
  await snapshots.init();
  ctx = { snapshots, paths: { tmp: join(tmp, 'tmp') } };
  await snapshots.create('a', (p) => writeFile(join(p.fs, 'f'), 'from a'));
  await snapshots.create('b', async (p) => {
    await writeFile(join(p.fs, 'f'), 'from b');
    await writeFile(join(p.fs, 'g'), 'only b');
  });
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('mounting a layer chain', () => {
  it('shows the chain top layer first and unmounts after fn', async () => {
    let seen = '';
    const got = await withRootfs(ctx, ['a', 'b'], undefined, async (root) => {
      seen = root;
      expect(await isMounted(root)).toBe(true);
      return [await readFile(join(root, 'f'), 'utf8'), await readFile(join(root, 'g'), 'utf8')];
    });
    expect(got).toEqual(['from b', 'only b']);
    expect(await readdir(ctx.paths.tmp)).toEqual([]);
    expect(seen).not.toBe('');
  });

  it('is read-only without a pending snapshot', async () => {
    await expect(withRootfs(ctx, ['a'], undefined, (root) => writeFile(join(root, 'new'), 'x'))).rejects.toThrow();
  });

  it('sends writes into the pending snapshot', async () => {
    await ctx.snapshots.create('c', (p) => withRootfs(ctx, ['a', 'b'], p, (root) => writeFile(join(root, 'new'), 'x')));
    expect(await readdir(ctx.snapshots.fsDir('c'))).toEqual(['new']);
    expect(await readdir(ctx.snapshots.fsDir('a'))).toEqual(['f']);
  });

  it('acquireRootfs writable: writes land in a scratch dir that release removes', async () => {
    const m = await acquireRootfs(ctx, ['a'], true);
    await writeFile(join(m.path, 'scratch'), 'x');
    await m.release();
    expect(await readdir(ctx.paths.tmp)).toEqual([]);
    expect(await readdir(ctx.snapshots.fsDir('a'))).toEqual(['f']);
  });
});
