import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OPAQUE_XATTR } from './overlay-format.js';
import { materialiseChain } from './tree-copy.js';
import { diffTrees, statTree, writeDiff } from './tree-diff.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tree-diff-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function tree(): string {
  const t = join(dir, 'tree');
  mkdirSync(join(t, 'etc/sub'), { recursive: true });
  mkdirSync(join(t, 'var/cache'), { recursive: true });
  writeFileSync(join(t, 'etc/a'), 'a');
  writeFileSync(join(t, 'etc/sub/b'), 'b');
  writeFileSync(join(t, 'var/cache/c'), 'c');
  symlinkSync('a', join(t, 'etc/link'));
  return t;
}

describe('diffTrees', () => {
  it('finds new, changed and removed entries, with the parents a layer needs', async () => {
    const t = tree();
    const before = await statTree(t);
    writeFileSync(join(t, 'etc/sub/new'), 'n');
    chmodSync(join(t, 'etc/a'), 0o600);
    rmSync(join(t, 'var/cache'), { recursive: true });
    const d = diffTrees(before, await statTree(t));
    expect(d.changed).toEqual(['var', 'etc/a', 'etc/sub', 'etc/sub/new']);
    expect(d.removed).toEqual(['var/cache']);
    expect(d.parents).toEqual(['etc']);
    expect(d.opaque).toEqual([]);
  });

  it('a dir removed and made again is opaque, even with the same inode number', async () => {
    const t = tree();
    const before = await statTree(t);
    rmSync(join(t, 'etc/sub'), { recursive: true });
    mkdirSync(join(t, 'etc/sub'));
    const d = diffTrees(before, await statTree(t));
    expect(d.opaque).toEqual(['etc/sub']);
    expect(d.removed).toEqual([]);
  });

  it('leaves out what is at or under an excluded path', async () => {
    const t = tree();
    const before = await statTree(t);
    writeFileSync(join(t, 'etc/a'), 'changed');
    rmSync(join(t, 'var/cache/c'));
    const d = diffTrees(before, await statTree(t), ['etc/a', 'var/cache']);
    expect(d.changed).toEqual([]);
    expect(d.removed).toEqual([]);
  });
});

describe('writeDiff', () => {
  it('writes the changes in overlay format: whiteouts 0/0, opaque dirs marked, files with owners', async () => {
    const t = tree();
    const before = await statTree(t);
    writeFileSync(join(t, 'etc/sub/new'), 'n');
    rmSync(join(t, 'etc/link'));
    rmSync(join(t, 'var/cache'), { recursive: true });
    mkdirSync(join(t, 'var/cache'));
    const upper = join(dir, 'upper');
    mkdirSync(upper);
    await writeDiff(t, diffTrees(before, await statTree(t)), upper);
    expect(readFileSync(join(upper, 'etc/sub/new'), 'utf8')).toBe('n');
    const wh = lstatSync(join(upper, 'etc/link'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(execFileSync('getfattr', ['--only-values', '-n', OPAQUE_XATTR, join(upper, 'var/cache')]).toString()).toBe(
      'y',
    );
    expect(lstatSync(join(upper, 'etc/a'), { throwIfNoEntry: false })).toBeUndefined();
  });
});

describe('materialiseChain', () => {
  it('merges layers as overlay would: whiteouts delete, opaque dirs hide, kinds replace', async () => {
    const low = join(dir, 'low');
    const up = join(dir, 'up');
    mkdirSync(join(low, 'd/x'), { recursive: true });
    writeFileSync(join(low, 'd/x/f'), 'f');
    writeFileSync(join(low, 'gone'), 'g');
    writeFileSync(join(low, 'kind'), 'file');
    mkdirSync(join(low, 'opq'));
    writeFileSync(join(low, 'opq/hidden'), 'h');
    mkdirSync(join(up, 'kind'), { recursive: true });
    writeFileSync(join(up, 'kind/inside'), 'i');
    mkdirSync(join(up, 'opq'));
    writeFileSync(join(up, 'opq/shown'), 's');
    execFileSync('setfattr', ['-n', OPAQUE_XATTR, '-v', 'y', join(up, 'opq')]);
    execFileSync('mknod', [join(up, 'gone'), 'c', '0', '0']);
    const t = join(dir, 'tree');
    mkdirSync(t);
    await materialiseChain([up, low], t);
    const list = execFileSync('find', ['.'], { cwd: t }).toString().split('\n').filter(Boolean).sort();
    expect(list).toEqual(['.', './d', './d/x', './d/x/f', './kind', './kind/inside', './opq', './opq/shown']);
    // overlay's own mark stays behind: the tree is what a step sees, not a layer
    expect(() => execFileSync('getfattr', ['-n', OPAQUE_XATTR, join(t, 'opq')], { stdio: 'pipe' })).toThrow();
  });
});
