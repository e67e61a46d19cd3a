import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  utimesSync,
  writeFileSync,
  symlinkSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyUpForNewPath } from './copy-up.js';
import { mountOverlay, unmount } from './overlay.js';

// Two layers, top first, in overlay format (whiteouts are 0/0 character devices, opaque dirs
// carry trusted.overlay.opaque=y), as tsbuild's snapshots are.
let dir: string;
let top: string;
let base: string;
const OLD = 1_600_000_000;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-copyup-'));
  [top, base] = ['top', 'base'].map((n) => join(dir, n)) as [string, string];
  mkdirSync(join(base, 'usr/local/share'), { recursive: true });
  mkdirSync(join(base, 'srv/old'), { recursive: true });
  mkdirSync(join(base, 'opt/hidden/deep'), { recursive: true });
  writeFileSync(join(base, 'etc-file'), 'x');
  mkdirSync(join(top, 'app'), { recursive: true });
  chownSync(join(top, 'app'), 1000, 1000);
  chmodSync(join(top, 'app'), 0o2750);
  mkdirSync(join(top, 'srv'));
  execFileSync('mknod', [join(top, 'srv/old'), 'c', '0', '0']);
  mkdirSync(join(top, 'opt'));
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(top, 'opt')]);
  symlinkSync('/usr', join(top, 'link'));
  for (const d of ['usr', 'usr/local', 'usr/local/share', 'srv', 'opt']) utimesSync(join(base, d), OLD, OLD);
  utimesSync(join(top, 'app'), OLD, OLD);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const lowers = (): string[] => [top, base];

/** name → mode/uid/gid (and mtime where `times`) of everything in an upper dir, overlay's own xattrs aside. */
function listing(root: string, times: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      out[r] =
        `${(st.mode & 0o177777).toString(8)} ${st.uid}:${st.gid}${times.has(r) ? ` ${Math.floor(st.mtimeMs / 1000)}` : ''}`;
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

/** What the same writes leave in an upper dir through a real overlay mount, and through copyUpForNewPath. */
async function bothWays(
  path: string,
  write: (root: string) => void,
): Promise<{ mounted: Record<string, string>; direct: Record<string, string> }> {
  const up = join(dir, 'upper');
  const work = join(dir, 'work');
  const target = join(dir, 'mnt');
  for (const d of [up, work, target]) mkdirSync(d);
  await mountOverlay({ lowerDirs: lowers(), upperDir: up, workDir: work, target });
  try {
    write(target);
  } finally {
    await unmount(target);
  }
  const direct = join(dir, 'direct');
  mkdirSync(direct);
  expect(await copyUpForNewPath(lowers(), direct, path)).toBe(true);
  write(direct);
  // mtimes of the dirs only copied up (not the one the write created an entry in) must match too
  const keep = new Set(['usr', 'usr/local']);
  return { mounted: listing(up, keep), direct: listing(direct, keep) };
}

describe('copyUpForNewPath', () => {
  it('leaves the upper dir as an overlay mount would, for a new path under existing dirs', async () => {
    const { mounted, direct } = await bothWays('/usr/local/share/app/', (root) => {
      mkdirSync(join(root, 'usr/local/share/app'));
      writeFileSync(join(root, 'usr/local/share/app/f'), 'x');
    });
    expect(direct).toEqual(mounted);
    expect(direct['usr/local']).toBe(`40755 0:0 ${OLD}`);
  });

  it('keeps mode (set-id bits too) and owner of a copied-up dir', async () => {
    const { mounted, direct } = await bothWays('/app/src', (root) => {
      mkdirSync(join(root, 'app/src'));
    });
    expect(direct).toEqual(mounted);
    expect(direct.app).toBe('42750 1000:1000');
  });

  it('copies nothing up under a path no layer has', async () => {
    const up = join(dir, 'direct');
    mkdirSync(up);
    expect(await copyUpForNewPath(lowers(), up, '/new/dir/')).toBe(true);
    expect(readdirSync(up)).toEqual([]);
  });

  it('declines, writing nothing, where only overlayfs gets it right', async () => {
    const up = join(dir, 'direct');
    mkdirSync(up);
    // exists below; whited out (a dir made there would be opaque); hidden by an opaque dir;
    // through a symlink; under a file; the root itself
    for (const path of ['/usr/local', '/srv/old/x', '/opt/hidden', '/link/new', '/etc-file/x', '/']) {
      expect(await copyUpForNewPath(lowers(), up, path), path).toBe(false);
    }
    expect(readdirSync(up)).toEqual([]);
  });

  it('declines when a dir on the way has xattrs a layer keeps', async () => {
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'kept', join(top, 'app')]);
    const up = join(dir, 'direct');
    mkdirSync(up);
    expect(await copyUpForNewPath(lowers(), up, '/app/new')).toBe(false);
    expect(readdirSync(up)).toEqual([]);
  });
});
