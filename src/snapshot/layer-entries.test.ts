import { execFileSync } from 'node:child_process';
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ownIdsMapping, OWNER_XATTR } from './id-mapping.js';
import { forEachLayerEntry, layerEntries } from './layer-entries.js';
import { compareUtf8 } from './utf8-order.js';

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

describe('forEachLayerEntry: the walk', () => {
  it('meets the entries in the byte order of their whole names, which a walk of sorted names must not break', async () => {
    const layer = join(tmp, 'layer');
    // '-' and '.' sort before '/', '0' after it: a dir's subtree sorts between its siblings
    for (const d of ['a', 'a/b', 'a-b', 'a0', 'é', 'z/y']) await mkdir(join(layer, d), { recursive: true });
    for (const f of ['a.b', 'a/b/c', 'a/b.c', 'a-b/x', 'a0/x', 'é/f', '\u{1f600}', '\uffff', 'z/y/.a', 'z/y/b'])
      await writeFile(join(layer, f), f);
    execFileSync('mknod', [join(layer, 'z', 'x'), 'c', '0', '0']); // whiteout: sorts as .wh.x
    execFileSync('mknod', [join(layer, 'z', '.wh'), 'c', '0', '0']); // .wh..wh, before the marker
    execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(layer, 'z', 'y')]);
    // the hard link's first name in tar order is the one in the deeper dir
    await writeFile(join(layer, 'a0', 'target'), 't');
    await link(join(layer, 'a0', 'target'), join(layer, 'a', 'b', 'link'));
    const entries = await layerEntries(layer);
    const names = entries.map((e) => e.name);
    expect(names).toEqual([...names].sort(compareUtf8));
    expect(names).toContain('z/.wh.x');
    expect(names).toContain('z/.wh..wh');
    expect(names.indexOf('z/y/.a')).toBeLessThan(names.indexOf('z/y/.wh..wh..opq'));
    expect(names.indexOf('z/y/.wh..wh..opq')).toBeLessThan(names.indexOf('z/y/b'));
    const linked = entries.filter((e) => e.type === 'link');
    expect(linked.map((e) => [e.name, e.linkname])).toEqual([['a0/target', 'a/b/link']]);
  });

  it('lists each directory only when the walk reaches it, handing out entries as it goes', async () => {
    const layer = join(tmp, 'layer');
    await mkdir(join(layer, 'a'), { recursive: true });
    await mkdir(join(layer, 'z'), { recursive: true });
    await writeFile(join(layer, 'a', 'f'), 'x');
    await writeFile(join(layer, 'z', 'later'), 'x');
    const seen: string[] = [];
    await forEachLayerEntry(layer, {}, async (e) => {
      seen.push(e.name);
      // a walk that listed the whole tree first would still hand out z/later
      if (e.name === 'a/f') await writeFile(join(layer, 'z', 'added'), 'x');
    });
    expect(seen).toEqual(['a/', 'a/f', 'z/', 'z/added', 'z/later']);
  });

  it('sends a held-back dir only when something inside it is in the diff, before that thing', async () => {
    const lower = join(tmp, 'lower');
    const layer = join(tmp, 'layer');
    for (const d of ['usr/lib/x', 'usr/share', 'var/cache']) await mkdir(join(lower, d), { recursive: true });
    for (const d of ['usr/lib/x', 'usr/share/doc', 'var/cache']) await mkdir(join(layer, d), { recursive: true });
    await writeFile(join(layer, 'usr', 'lib', 'x', 'f'), 'x');
    const names = (await layerEntries(layer, { lowerDirs: [lower] })).map((e) => e.name);
    // usr/share is unchanged but holds a new dir; var/ and var/cache/ hold nothing new
    expect(names).toEqual(['usr/', 'usr/lib/', 'usr/lib/x/', 'usr/lib/x/f', 'usr/share/', 'usr/share/doc/']);
    // a socket has no entry, but the dirs around it are part of the diff
    execFileSync('python3', [
      '-c',
      'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])',
      join(layer, 'var/cache/s'),
    ]);
    const withSocket = (await layerEntries(layer, { lowerDirs: [lower] })).map((e) => e.name);
    expect(withSocket.filter((n) => n.startsWith('var'))).toEqual(['var/', 'var/cache/']);
  });

  it('refuses a name that is not UTF-8, and keeps one that holds U+FFFD', async () => {
    const layer = join(tmp, 'layer');
    await mkdir(join(layer, 'd'), { recursive: true });
    await writeFile(join(layer, 'd', 'ok-\ufffd'), 'x');
    expect((await layerEntries(layer)).map((e) => e.name)).toEqual(['d/', 'd/ok-\ufffd']);
    await writeFile(Buffer.concat([Buffer.from(join(layer, 'd', 'bad-')), Buffer.from([0xff])]), 'x');
    await expect(layerEntries(layer)).rejects.toThrow(/not valid UTF-8 in .*\/d: "bad-ÿ"/);
  });
});
