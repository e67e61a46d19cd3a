import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ownIdsMapping, OWNER_XATTR } from './id-mapping.js';
import { layerEntries } from './layer-entries.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-layer-entries-test-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('layerEntries: owners recorded in user.tsbuild.owner', () => {
  it('takes the recorded owner over the disk owner, leaves the record out of the tar, and maps the rest', async () => {
    const layer = join(tmp, 'layer');
    await mkdir(join(layer, 'home/app'), { recursive: true });
    await writeFile(join(layer, 'home/app/f'), 'x');
    await writeFile(join(layer, 'plain'), 'y');
    await symlink('plain', join(layer, 'link'));
    execFileSync('setfattr', ['-n', OWNER_XATTR, '-v', '1000:1001', join(layer, 'home/app')]);
    execFileSync('setfattr', ['-n', OWNER_XATTR, '-v', '1000:1001', join(layer, 'home/app/f')]);
    execFileSync('setfattr', ['-n', 'user.other', '-v', 'kept', join(layer, 'home/app/f')]);
    const me = process.geteuid!();
    const entries = await layerEntries(layer, { idMapping: ownIdsMapping(me, process.getegid!()) });
    const by = new Map(entries.map((e) => [e.name, e]));
    expect([by.get('home/app/')!.uid, by.get('home/app/')!.gid]).toEqual([1000, 1001]);
    expect([by.get('home/app/f')!.uid, by.get('home/app/f')!.gid]).toEqual([1000, 1001]);
    expect([...(by.get('home/app/f')!.xattrs?.keys() ?? [])]).toEqual(['user.other']);
    expect(by.get('home/app/')!.xattrs).toBeUndefined();
    // the disk owner (the user's own ids) is the image's root
    for (const name of ['home/', 'plain', 'link']) expect([by.get(name)!.uid, by.get(name)!.gid]).toEqual([0, 0]);
  });
});
