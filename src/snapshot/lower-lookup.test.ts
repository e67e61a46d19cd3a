import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookupInChain, soleLayerOf } from './lower-lookup.js';

// Three layers, top first: `top` over `mid` over `base`, in overlay format (whiteouts are 0/0
// character devices, opaque dirs carry trusted.overlay.opaque=y), as tsbuild's snapshots are.
let dir: string;
let top: string;
let mid: string;
let base: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-lookup-'));
  [top, mid, base] = ['top', 'mid', 'base'].map((n) => join(dir, n)) as [string, string, string];
  for (const d of ['etc', 'opt/app', 'srv', 'data/sub']) await mkdir(join(base, d), { recursive: true });
  await writeFile(join(base, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  await writeFile(join(base, 'opt/app/conf'), 'x');
  await writeFile(join(base, 'srv/gone'), 'x');
  await writeFile(join(base, 'data/sub/file'), 'x');
  await symlink('/srv', join(base, 'link'));
  // mid: a copied-up /etc (plain dir), /opt made opaque, /srv/gone deleted
  for (const d of ['etc', 'opt', 'srv']) await mkdir(join(mid, d), { recursive: true });
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(mid, 'opt')]);
  execFileSync('mknod', [join(mid, 'srv/gone'), 'c', '0', '0']);
  // top: another copied-up /etc, and /data/sub replaced by a file
  await mkdir(join(top, 'etc'), { recursive: true });
  await mkdir(join(top, 'data'), { recursive: true });
  await writeFile(join(top, 'data/sub'), 'now a file');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('lookupInChain', () => {
  it('finds a file through the plain dirs of the layers above', async () => {
    const r = (await lookupInChain([top, mid, base], ['etc/passwd', 'etc'])).get('etc/passwd')!;
    expect(r.kind).toBe('other');
    expect(r.kind !== 'absent' && r.layer).toBe(base);
  });

  it('hides what an opaque dir above covers, and what a whiteout deleted', async () => {
    const r = await lookupInChain([top, mid, base], ['opt/app/conf', 'opt', 'srv/gone', 'srv']);
    expect(r.get('opt/app/conf')).toEqual({ kind: 'absent' });
    expect(r.get('opt')!.kind).toBe('dir');
    expect(r.get('srv/gone')).toEqual({ kind: 'absent' });
    expect(r.get('srv')!.kind).toBe('dir');
  });

  it('is absent where no layer has the path, and behind a file that replaced a dir', async () => {
    const r = await lookupInChain([top, mid, base], ['etc/hosts', 'proc', 'data/sub/file']);
    expect(r.get('etc/hosts')).toEqual({ kind: 'absent' });
    expect(r.get('proc')).toEqual({ kind: 'absent' });
    expect(r.get('data/sub/file')).toEqual({ kind: 'absent' });
  });

  it('says when a symlink stands on the way (the kernel would follow it)', async () => {
    const r = await lookupInChain([top, mid, base], ['link/x', 'link']);
    expect(r.get('link/x')).toEqual({ kind: 'absent', viaSymlink: true });
    expect(r.get('link')!.kind).toBe('other');
  });
});

describe('soleLayerOf', () => {
  it('names the layer that holds a path whole: made there, nothing of it below', async () => {
    await mkdir(join(top, 'out/sub'), { recursive: true });
    await writeFile(join(top, 'out/sub/a'), 'a');
    await writeFile(join(top, 'made'), 'm');
    expect(await soleLayerOf([top, mid, base], ['/out/'])).toBe(top);
    expect(await soleLayerOf([top, mid, base], ['out/sub/a', '/made'])).toBe(top);
    // data/sub: a file in top over a dir below, which the merged view no longer shows
    expect(await soleLayerOf([top, mid, base], ['/data/sub'])).toBe(top);
  });

  it('is undefined where only a mount shows the path as it is', async () => {
    const chain = [top, mid, base];
    // etc: in every layer (merged); srv: its file deleted by a whiteout in mid
    expect(await soleLayerOf(chain, ['/etc'])).toBeUndefined();
    expect(await soleLayerOf(chain, ['/srv'])).toBeUndefined();
    // hidden by the opaque dir above, or deleted: let the mount's copy say it is missing
    expect(await soleLayerOf(chain, ['/opt/app/conf'])).toBeUndefined();
    expect(await soleLayerOf(chain, ['/srv/gone'])).toBeUndefined();
    // a symlink, a wildcard, the root, sources in two layers
    expect(await soleLayerOf(chain, ['/link'])).toBeUndefined();
    expect(await soleLayerOf(chain, ['/out/*'])).toBeUndefined();
    expect(await soleLayerOf(chain, ['/'])).toBeUndefined();
    expect(await soleLayerOf(chain, ['/out', '/etc/passwd'])).toBeUndefined();
    // a path only the bottom layer has is that layer's whole
    expect(await soleLayerOf(chain, ['/data/sub/file'])).toBeUndefined();
    expect(await soleLayerOf([base], ['/data/sub/file'])).toBe(base);
  });
});
