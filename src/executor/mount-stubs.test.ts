import { lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findMissingMountPoints, removeMountStubs } from './mount-stubs.js';
import { SPEC_MOUNT_POINTS } from './runtime-spec.js';

let rootfs: string;
beforeEach(async () => {
  rootfs = await mkdtemp(join(tmpdir(), 'tsbuild-mount-stubs-test-'));
});
afterEach(async () => {
  await rm(rootfs, { recursive: true, force: true });
});

const present = async (p: string) =>
  lstat(join(rootfs, p)).then(
    () => true,
    () => false,
  );

describe('findMissingMountPoints', () => {
  it('lists nothing when every mount point exists', async () => {
    for (const d of ['proc', 'dev', 'sys', 'etc']) await mkdir(join(rootfs, d));
    await writeFile(join(rootfs, 'etc/hosts'), '');
    await writeFile(join(rootfs, 'etc/resolv.conf'), '');
    expect(await findMissingMountPoints(rootfs, SPEC_MOUNT_POINTS)).toEqual([]);
  });

  it('lists missing points and their missing parents, deepest first', async () => {
    await mkdir(join(rootfs, 'proc'));
    const missing = await findMissingMountPoints(rootfs, [...SPEC_MOUNT_POINTS, '/a/b/c']);
    expect(new Set(missing)).toEqual(
      new Set(['/dev', '/sys', '/etc', '/etc/hosts', '/etc/resolv.conf', '/a', '/a/b', '/a/b/c']),
    );
    expect(missing).toHaveLength(8);
    // every path comes before its parents
    for (const p of missing) {
      for (const q of missing)
        if (p.startsWith(q + '/')) expect(missing.indexOf(p), `${p} before ${q}`).toBeLessThan(missing.indexOf(q));
    }
  });

  it('a parent that exists is not listed', async () => {
    await mkdir(join(rootfs, 'etc'));
    expect((await findMissingMountPoints(rootfs, ['/etc/hosts', '/etc/resolv.conf'])).sort()).toEqual([
      '/etc/hosts',
      '/etc/resolv.conf',
    ]);
  });

  it('a dangling symlink counts as present (lstat)', async () => {
    await symlink('/nowhere', join(rootfs, 'proc'));
    expect(await findMissingMountPoints(rootfs, ['/proc'])).toEqual([]);
  });
});

describe('removeMountStubs', () => {
  it('removes the stubs runc left when they are still empty, parents after children', async () => {
    const stubs = await findMissingMountPoints(rootfs, ['/etc/hosts', '/proc', '/a/b']);
    // what runc does: create the missing dirs and empty files
    await mkdir(join(rootfs, 'etc'));
    await writeFile(join(rootfs, 'etc/hosts'), '');
    await mkdir(join(rootfs, 'proc'));
    await mkdir(join(rootfs, 'a/b'), { recursive: true });
    await removeMountStubs(rootfs, stubs);
    expect(await readdir(rootfs)).toEqual([]);
  });

  it('keeps stubs the step wrote into, and their parents', async () => {
    const stubs = await findMissingMountPoints(rootfs, ['/etc/hosts', '/etc/resolv.conf', '/proc']);
    await mkdir(join(rootfs, 'etc'));
    await writeFile(join(rootfs, 'etc/hosts'), '127.0.0.1 localhost\n');
    await writeFile(join(rootfs, 'etc/resolv.conf'), '');
    await mkdir(join(rootfs, 'proc'));
    await writeFile(join(rootfs, 'proc/marker'), 'x');
    await removeMountStubs(rootfs, stubs);
    expect(await present('etc/hosts')).toBe(true);
    expect(await present('etc/resolv.conf')).toBe(false);
    expect(await present('etc')).toBe(true);
    expect(await present('proc/marker')).toBe(true);
  });

  it('ignores stubs that are already gone, and leaves symlinks alone', async () => {
    await symlink('/target', join(rootfs, 'dev'));
    await removeMountStubs(rootfs, ['/gone/deeper', '/gone', '/dev']);
    expect(await present('dev')).toBe(true);
  });
});
