import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { isMounted, mountOverlay, unmount } from './overlay.js';

let tmp: string;
const mounted: string[] = [];

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-overlay-test-'));
});

afterEach(async () => {
  for (const t of mounted.splice(0).reverse()) await unmount(t).catch(() => execFileSync('umount', ['-l', t]));
  await rm(tmp, { recursive: true, force: true });
});

async function dirs(...names: string[]): Promise<string[]> {
  const out = names.map((n) => join(tmp, n));
  for (const d of out) await mkdir(d, { recursive: true });
  return out;
}

async function mount(m: Parameters<typeof mountOverlay>[0]): Promise<void> {
  await mountOverlay(m);
  mounted.push(m.target);
}

function xattr(path: string, name: string): string | undefined {
  try {
    return execFileSync('getfattr', ['--only-values', '-h', '-n', name, path], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
  } catch {
    return undefined;
  }
}

describe('mountOverlay', () => {
  it('stacks lowers top first and records deletions in overlay format', async () => {
    const [top, bottom, upper, work, target] = await dirs('top', 'bottom', 'upper', 'work', 'merged');
    await writeFile(join(bottom!, 'shared'), 'bottom');
    await writeFile(join(top!, 'shared'), 'top');
    await writeFile(join(bottom!, 'gone'), 'x');
    await mkdir(join(bottom!, 'dir'));
    await writeFile(join(bottom!, 'dir', 'old'), 'x');
    await mkdir(join(bottom!, 'moved'));
    await writeFile(join(bottom!, 'moved', 'f'), 'x');
    await mount({ lowerDirs: [top!, bottom!], upperDir: upper, workDir: work, target: target! });

    expect(await readFile(join(target!, 'shared'), 'utf8')).toBe('top');
    // The kernel lists only options that differ from its defaults; none of these may show up.
    const info = await readFile('/proc/self/mountinfo', 'utf8');
    const line = info.split('\n').find((l) => l.split(' ')[4] === target)!;
    expect(line).toContain('upperdir=upper');
    expect(line).not.toMatch(/index=on|redirect_dir=(on|follow)|metacopy=on/);

    await rm(join(target!, 'gone'));
    await rm(join(target!, 'dir'), { recursive: true });
    await mkdir(join(target!, 'dir'));
    await writeFile(join(target!, 'dir', 'new'), 'n');
    // redirect_dir=off: renaming a lower dir is refused (EXDEV), so tools copy + delete.
    await expect(rename(join(target!, 'moved'), join(target!, 'moved2'))).rejects.toMatchObject({ code: 'EXDEV' });
    await unmount(target!);
    expect(await isMounted(target!)).toBe(false);

    const wh = await lstat(join(upper!, 'gone'));
    expect(wh.isCharacterDevice()).toBe(true);
    expect(wh.rdev).toBe(0);
    expect(xattr(join(upper!, 'dir'), 'trusted.overlay.opaque')).toBe('y');
    expect(await readdir(join(upper!, 'dir'))).toEqual(['new']);
    expect(existsSync(join(upper!, 'moved'))).toBe(false);
  });

  it('mounts a single lower read-only, hiding its whiteouts, and cleans its filler dir', async () => {
    const [only, target] = await dirs('only', 'merged');
    await writeFile(join(only!, 'f'), 'x');
    execFileSync('mknod', [join(only!, 'deleted'), 'c', '0', '0']);
    const before = (await readdir(tmpdir())).filter((n) => n.startsWith('tsbuild-empty-')).length;
    await mount({ lowerDirs: [only!], target: target! });
    expect((await readdir(target!)).sort()).toEqual(['f']);
    await expect(writeFile(join(target!, 'g'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
    await unmount(target!);
    const after = (await readdir(tmpdir())).filter((n) => n.startsWith('tsbuild-empty-')).length;
    expect(after).toBe(before);
  });

  it('mounts an upper with no lowers (RUN on scratch) and an empty read-only root', async () => {
    const [upper, work, target, target2] = await dirs('upper', 'work', 'merged', 'merged2');
    await mount({ lowerDirs: [], upperDir: upper, workDir: work, target: target! });
    await writeFile(join(target!, 'made'), 'x');
    await unmount(target!);
    expect(await readdir(upper!)).toEqual(['made']);

    await mount({ lowerDirs: [], target: target2! });
    expect(await readdir(target2!)).toEqual([]);
    expect((await lstat(target2!)).mode & 0o777).toBe(0o755);
    await expect(writeFile(join(target2!, 'x'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
  });

  it('fits 150 layers by passing paths relative to their common parent, and refuses too many', async () => {
    const root = join(tmp, 'snapshots');
    // 20-character ids: "<id>/fs:" is 24 bytes a layer, ~170 layers a page.
    const ids = Array.from({ length: 150 }, (_, i) => `${String(i).padStart(4, '0')}${'a'.repeat(16)}`);
    const layers = ids.map((id) => join(root, id, 'fs'));
    for (const [i, l] of layers.entries()) {
      await mkdir(l, { recursive: true });
      await writeFile(join(l, `f${i}`), String(i));
    }
    const [target] = await dirs('merged');
    await mount({ lowerDirs: layers, target: target! });
    expect((await readdir(target!)).length).toBe(150);
    await unmount(target!);

    const more = Array.from({ length: 200 }, (_, i) =>
      join(root, `${String(i).padStart(4, '0')}${'a'.repeat(16)}`, 'fs'),
    );
    for (const l of more) await mkdir(l, { recursive: true });
    await expect(mountOverlay({ lowerDirs: more, target: target! })).rejects.toBeInstanceOf(UserError);
    expect(await isMounted(target!)).toBe(false);
  });

  it('accepts volatile for throwaway upperdirs', async () => {
    const [lower, upper, work, target] = await dirs('lower', 'upper', 'work', 'merged');
    await mount({ lowerDirs: [lower!], upperDir: upper, workDir: work, target: target!, volatile: true });
    expect(await readFile('/proc/self/mountinfo', 'utf8')).toMatch(/fsync=volatile|volatile/);
    await writeFile(join(target!, 'f'), 'x');
    await unmount(target!);
    expect(await readFile(join(upper!, 'f'), 'utf8')).toBe('x');
  });

  it('unmount waits out a busy mount, and is a no-op when nothing is mounted', async () => {
    const [a, b, target] = await dirs('a', 'b', 'merged');
    await writeFile(join(a!, 'f'), 'x');
    await mount({ lowerDirs: [a!, b!], target: target! });
    const fh = await open(join(target!, 'f'), 'r');
    setTimeout(() => void fh.close(), 150);
    await unmount(target!);
    expect(await isMounted(target!)).toBe(false);
    await unmount(target!);
    await unmount(join(tmp, 'does-not-exist'));
  });
});
