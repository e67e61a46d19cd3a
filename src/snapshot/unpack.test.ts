import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvironmentError, UserError } from '../errors.js';
import { writeLayerTar } from './layer-tar.js';
import { mountOverlay, unmount } from './overlay.js';
import { idMappingFromRanges, OWNER_XATTR, ownIdsMapping } from './id-mapping.js';
import { unpackLayer } from './unpack.js';

let tmp: string;
let mounted: string | undefined;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-unpack-test-'));
});

afterEach(async () => {
  if (mounted) await unmount(mounted).catch(() => execFileSync('umount', ['-l', mounted!]));
  mounted = undefined;
  await rm(tmp, { recursive: true, force: true });
});

async function tarOf(layerDir: string): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await writeLayerTar(layerDir, out);
  return Buffer.concat(chunks);
}

type Spec = tarStream.Headers & { pax?: Record<string, string>; body?: string };

/** A tar with exactly the given entries, hostile ones included (tar-stream does not sanitise). */
async function handmade(specs: Spec[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((r) => pack.on('end', r));
  for (const { body, ...h } of specs) {
    await new Promise<void>((resolve, reject) => {
      pack.entry(
        { mode: h.type === 'directory' ? 0o755 : 0o644, mtime: new Date(1_000_000_000_000), ...h },
        body ?? '',
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const xattr = (path: string, name: string): Buffer | undefined => {
  try {
    return execFileSync('getfattr', ['--absolute-names', '--only-values', '-h', '-n', name, path], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return undefined;
  }
};

describe('unpackLayer', () => {
  it('round-trips a layer dir byte for byte', async () => {
    const src = join(tmp, 'src');
    await mkdir(join(src, 'dir', 'sub'), { recursive: true });
    await writeFile(join(src, 'dir', 'sub', 'f'), 'content');
    await chown(join(src, 'dir', 'sub', 'f'), 1000, 1001);
    await chmod(join(src, 'dir', 'sub', 'f'), 0o600);
    await writeFile(join(src, 'suid'), 'x');
    await chown(join(src, 'suid'), 0, 50);
    await chmod(join(src, 'suid'), 0o6755);
    await mkdir(join(src, 'sticky'));
    await chmod(join(src, 'sticky'), 0o1777);
    await symlink('/absolute/target', join(src, 'abs-link'));
    await symlink('dir/sub/f', join(src, 'rel-link'));
    await writeFile(join(src, 'h1'), 'linked');
    await link(join(src, 'h1'), join(src, 'h2'));
    await link(join(src, 'h1'), join(src, 'dir', 'h3'));
    execFileSync('mknod', [join(src, 'deleted'), 'c', '0', '0']);
    execFileSync('mknod', [join(src, 'dir', 'deleted2'), 'c', '0', '0']);
    execFileSync('mkfifo', [join(src, 'fifo')]);
    execFileSync('mknod', [join(src, 'zero'), 'c', '1', '5']);
    execFileSync('mknod', [join(src, 'blk'), 'b', '7', '200']);
    await mkdir(join(src, 'opaque'));
    await writeFile(join(src, 'opaque', 'inside'), 'i');
    execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(src, 'opaque')]);
    await writeFile(join(src, 'cap'), 'c');
    execFileSync('setcap', ['cap_setuid,cap_setgid,cap_net_raw+ep', join(src, 'cap')]);
    await writeFile(join(src, 'user-attr'), 'u');
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'hello', join(src, 'user-attr')]);
    const long = join(src, 'l'.repeat(120), 'ü'.repeat(70));
    await mkdir(join(src, 'l'.repeat(120)));
    await writeFile(long, 'long');
    await mkdir(join(src, 'empty'));
    await utimes(join(src, 'empty'), new Date(1_500_000_000_000), new Date(1_500_000_000_000));
    await utimes(join(src, 'dir'), new Date(1_400_000_000_000), new Date(1_400_000_000_000));

    const tar = await tarOf(src);
    const dest = join(tmp, 'dest');
    await unpackLayer(Readable.from([tar]), dest);

    expect((await tarOf(dest)).equals(tar)).toBe(true);
    expect((await lstat(join(dest, 'deleted'))).rdev).toBe(0);
    expect((await lstat(join(dest, 'deleted'))).isCharacterDevice()).toBe(true);
    expect(xattr(join(dest, 'opaque'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    expect(xattr(join(dest, 'cap'), 'security.capability')).toEqual(xattr(join(src, 'cap'), 'security.capability'));
    expect((await lstat(join(dest, 'suid'))).mode & 0o7777).toBe(0o6755);
    expect((await lstat(join(dest, 'h2'))).ino).toBe((await lstat(join(dest, 'h1'))).ino);
    expect((await lstat(join(dest, 'dir'))).mtimeMs).toBe(1_400_000_000_000);
  });

  it('round-trips the upperdir of a real overlay mount', async () => {
    const [lower, upper, work, target] = ['lower', 'upper', 'work', 'merged'].map((n) => join(tmp, n));
    for (const d of [lower, upper, work, target]) await mkdir(d!);
    await mkdir(join(lower!, 'etc'));
    await writeFile(join(lower!, 'etc', 'passwd'), 'root');
    await mkdir(join(lower!, 'opt', 'app'), { recursive: true });
    await writeFile(join(lower!, 'opt', 'app', 'v1'), '1');
    await mountOverlay({ lowerDirs: [lower!], upperDir: upper!, workDir: work!, target: target! });
    mounted = target;
    await rm(join(target!, 'etc', 'passwd'));
    await rm(join(target!, 'opt', 'app'), { recursive: true });
    await mkdir(join(target!, 'opt', 'app'));
    await writeFile(join(target!, 'opt', 'app', 'v2'), '2');
    await writeFile(join(target!, 'bin'), '#!/bin/sh');
    await chmod(join(target!, 'bin'), 0o4711);
    await unmount(target!);
    mounted = undefined;

    const tar = await tarOf(upper!);
    const dest = join(tmp, 'dest');
    await unpackLayer(Readable.from([tar]), dest);
    const list = (b: Buffer) => execFileSync('tar', ['--full-time', '-tvf', '-'], { input: b }).toString();
    expect(list(await tarOf(dest))).toBe(list(tar));
    expect((await tarOf(dest)).equals(tar)).toBe(true);
    expect(xattr(join(dest, 'opt', 'app'), 'trusted.overlay.opaque')?.toString()).toBe('y');

    // And the unpacked dir works as a lower layer: the chain shows the same tree as before.
    const view = join(tmp, 'view');
    await mkdir(view);
    await mountOverlay({ lowerDirs: [dest, lower!], target: view });
    mounted = view;
    expect(await readdir(join(view, 'etc'))).toEqual([]);
    expect(await readdir(join(view, 'opt', 'app'))).toEqual(['v2']);
  });

  it('gives files, dirs, symlinks, devices and whiteouts their owners through the id mapping', async () => {
    const tar = await handmade([
      { name: 'dir', type: 'directory', uid: 0, gid: 0 },
      { name: 'dir/f', type: 'file', uid: 1000, gid: 1001, body: 'x' },
      { name: 'link', type: 'symlink', linkname: 'dir/f', uid: 5, gid: 6 },
      { name: 'fifo', type: 'fifo', uid: 7, gid: 8 },
      { name: '.wh.gone', type: 'file', uid: 0, gid: 3 },
      { name: 'big', type: 'file', pax: { uid: '70000', gid: '70001' }, body: 'y' },
    ]);
    const dest = join(tmp, 'dest');
    const shift = 100_000;
    const ids = idMappingFromRanges(
      [{ containerID: 0, hostID: shift, size: 80_000 }],
      [{ containerID: 0, hostID: 2 * shift, size: 80_000 }],
    );
    await unpackLayer(Readable.from([tar]), dest, { idMapping: ids });
    const owner = async (rel: string) => {
      const st = await lstat(join(dest, rel));
      return [st.uid, st.gid];
    };
    expect(await owner('dir')).toEqual([shift, 2 * shift]);
    expect(await owner('dir/f')).toEqual([shift + 1000, 2 * shift + 1001]);
    expect(await owner('link')).toEqual([shift + 5, 2 * shift + 6]);
    expect(await owner('fifo')).toEqual([shift + 7, 2 * shift + 8]);
    expect(await owner('gone')).toEqual([shift, 2 * shift + 3]);
    expect(await owner('big')).toEqual([shift + 70000, 2 * shift + 70001]);
  });

  it('gives implicit directories the mapped root, and the layer tar maps owners back', async () => {
    const tar = await handmade([
      { name: 'deep/er/f', type: 'file', uid: 1000, gid: 1001, body: 'x' },
      { name: 'op/.wh..wh..opq', type: 'file' },
      { name: 'dir/', type: 'directory', uid: 5, gid: 6 },
      { name: 'dir/.wh.gone', type: 'file', uid: 7, gid: 8 },
    ]);
    const dest = join(tmp, 'dest');
    const shift = 100_000;
    const ids = idMappingFromRanges(
      [{ containerID: 0, hostID: shift, size: 80_000 }],
      [{ containerID: 0, hostID: 2 * shift, size: 80_000 }],
    );
    await unpackLayer(Readable.from([tar]), dest, { idMapping: ids });
    const owner = async (rel: string) => {
      const st = await lstat(join(dest, rel));
      return [st.uid, st.gid];
    };
    // no entry described these: they are the image's root's, on the host
    expect(await owner('deep')).toEqual([shift, 2 * shift]);
    expect(await owner('deep/er')).toEqual([shift, 2 * shift]);
    expect(await owner('op')).toEqual([shift, 2 * shift]);
    expect(await owner('deep/er/f')).toEqual([shift + 1000, 2 * shift + 1001]);

    // written back as a layer with the same mapping, every owner is the image's again
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await writeLayerTar(dest, out, { idMapping: ids });
    const owners = new Map<string, [number, number]>();
    const extract = tarStream.extract();
    const done = new Promise<void>((resolve, reject) => {
      extract.on('entry', (h, stream, next) => {
        owners.set(h.name, [h.uid ?? -1, h.gid ?? -1]);
        stream.resume();
        next();
      });
      extract.on('finish', resolve);
      extract.on('error', reject);
    });
    extract.end(Buffer.concat(chunks));
    await done;
    expect(Object.fromEntries(owners)).toMatchObject({
      'deep/': [0, 0],
      'deep/er/': [0, 0],
      'deep/er/f': [1000, 1001],
      'op/': [0, 0],
      'op/.wh..wh..opq': [0, 0],
      'dir/': [5, 6],
      'dir/.wh.gone': [7, 8],
    });
    // without the mapping the tar would carry the host's ids
    const plain = new PassThrough();
    const raw: Buffer[] = [];
    plain.on('data', (c: Buffer) => raw.push(c));
    await writeLayerTar(dest, plain);
    expect(Buffer.concat(raw).equals(Buffer.concat(chunks))).toBe(false);
  });

  it("with a user's own ids (it may not chown): files are its own, image owners other than root in user.tsbuild.owner, and back in the tar", async () => {
    const tar = await handmade([
      { name: 'home/', type: 'directory', uid: 0, gid: 0 },
      { name: 'home/app/', type: 'directory', uid: 1000, gid: 1000 },
      { name: 'home/app/f', type: 'file', uid: 1000, gid: 1001, body: 'x' },
      { name: 'home/app/g', type: 'file', uid: 1000, gid: 1001, body: 'named twice' },
      { name: 'home/app/g', type: 'file', uid: 0, gid: 0, body: 'y' },
      { name: 'link', type: 'symlink', linkname: 'home', uid: 1000, gid: 1000 },
    ]);
    const dest = join(tmp, 'dest');
    const ids = ownIdsMapping(4242, 4343);
    await unpackLayer(Readable.from([tar]), dest, { idMapping: ids });
    for (const rel of ['home', 'home/app', 'home/app/f', 'link']) {
      const st = await lstat(join(dest, rel));
      expect([st.uid, st.gid], rel).toEqual([4242, 4343]);
    }
    const recorded = (rel: string) =>
      execFileSync('getfattr', ['-h', '--only-values', '-n', OWNER_XATTR, join(dest, rel)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    expect(recorded('home/app')).toBe('1000:1000');
    expect(recorded('home/app/f')).toBe('1000:1001');
    expect(() => recorded('home')).toThrow();
    expect(() => recorded('home/app/g')).toThrow();
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await writeLayerTar(dest, out, { idMapping: ids });
    const back = await unpackTarOwners(Buffer.concat(chunks));
    expect(back).toEqual({
      'home/': [0, 0],
      'home/app/': [1000, 1000],
      'home/app/f': [1000, 1001],
      'home/app/g': [0, 0],
      link: [0, 0], // symlinks cannot carry the record: root's
    });
  });

  it("with a user's own ids, refuses a device node clearly", async () => {
    const tar = await handmade([{ name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 }]);
    await expect(
      unpackLayer(Readable.from([tar]), join(tmp, 'dest'), { idMapping: ownIdsMapping(4242, 4343) }),
    ).rejects.toThrow(EnvironmentError);
  });

  it('refuses an owner the id mapping does not cover', async () => {
    const tar = await handmade([{ name: 'f', type: 'file', uid: 70000, gid: 0, body: 'x' }]);
    const ids = idMappingFromRanges(
      [{ containerID: 0, hostID: 1000, size: 65536 }],
      [{ containerID: 0, hostID: 1000, size: 65536 }],
    );
    await expect(unpackLayer(Readable.from([tar]), join(tmp, 'dest'), { idMapping: ids })).rejects.toThrow(
      /uid 70000 has no host id/,
    );
  });

  it('turns whiteouts into 0/0 devices and opaque markers into the overlay xattr', async () => {
    const tar = await handmade([
      { name: 'dir/', type: 'directory' },
      { name: 'dir/.wh..wh..opq', type: 'file' },
      { name: 'dir/f', type: 'file', body: 'f' },
      { name: '.wh.gone', type: 'file' },
      { name: 'implicit/parent/.wh.x', type: 'file' },
      { name: './dot/file', type: 'file', body: 'd' },
      { name: '/abs/file', type: 'file', body: 'a' },
    ]);
    const dest = join(tmp, 'dest');
    await unpackLayer(Readable.from([tar]), dest);
    expect(xattr(join(dest, 'dir'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    for (const p of ['gone', 'implicit/parent/x']) {
      const st = await lstat(join(dest, p));
      expect(st.isCharacterDevice() && st.rdev === 0).toBe(true);
    }
    expect(await readFile(join(dest, 'dot', 'file'), 'utf8')).toBe('d');
    expect(await readFile(join(dest, 'abs', 'file'), 'utf8')).toBe('a');
    expect((await readdir(dest)).sort()).toEqual(['abs', 'dir', 'dot', 'gone', 'implicit']);
  });

  it('makes a dir re-created after its whiteout opaque, and ignores overlay xattrs from the tar', async () => {
    const tar = await handmade([
      { name: '.wh.app', type: 'file' },
      { name: 'app/', type: 'directory' },
      { name: 'app/new', type: 'file', body: 'n' },
      {
        name: 'f',
        type: 'file',
        body: 'x',
        pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc', 'SCHILY.xattr.user.ok': 'yes' },
      },
    ]);
    const dest = join(tmp, 'dest');
    await unpackLayer(Readable.from([tar]), dest);
    expect((await lstat(join(dest, 'app'))).isDirectory()).toBe(true);
    expect(xattr(join(dest, 'app'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    expect(xattr(join(dest, 'f'), 'trusted.overlay.redirect')).toBeUndefined();
    expect(xattr(join(dest, 'f'), 'user.ok')?.toString()).toBe('yes');
  });

  it('reads what GNU tar writes: GNU long names, and PAX with xattrs', async () => {
    const src = join(tmp, 'src');
    const deep = join(src, 'g'.repeat(150), 'h'.repeat(120));
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, 'file'), 'deep');
    await symlink('t'.repeat(130), join(src, 'longlink'));
    await writeFile(join(src, 'cap'), 'c');
    execFileSync('setcap', ['cap_setuid+ep', join(src, 'cap')]);
    for (const format of [['--format=gnu'], ['--format=pax', '--xattrs', '--xattrs-include=*']]) {
      const tar = execFileSync('tar', ['-C', src, '-cf', '-', ...format, '.'], { maxBuffer: 1 << 26 });
      const dest = join(tmp, `dest-${format[0]!.slice(9)}`);
      await unpackLayer(Readable.from([tar]), dest);
      expect(await readFile(join(dest, 'g'.repeat(150), 'h'.repeat(120), 'file'), 'utf8')).toBe('deep');
      expect(await readlink(join(dest, 'longlink'))).toBe('t'.repeat(130));
      if (format.includes('--xattrs'))
        expect(xattr(join(dest, 'cap'), 'security.capability')).toEqual(xattr(join(src, 'cap'), 'security.capability'));
    }
  });

  describe('hostile tars', () => {
    let outside: string;
    let dest: string;
    beforeEach(async () => {
      outside = join(tmp, 'outside');
      dest = join(tmp, 'dest');
      await mkdir(outside);
      await writeFile(join(outside, 'secret'), 'original');
    });

    const refused = async (specs: Spec[]) => {
      await expect(unpackLayer(Readable.from([await handmade(specs)]), dest)).rejects.toBeInstanceOf(UserError);
      expect(await readdir(outside)).toEqual(['secret']);
      expect(await readFile(join(outside, 'secret'), 'utf8')).toBe('original');
    };

    it('refuses ../ escapes', async () => {
      await refused([{ name: '../outside/pwned', type: 'file', body: 'x' }]);
      await refused([{ name: 'a/../../outside/pwned', type: 'file', body: 'x' }]);
      await refused([{ name: 'a/../../outside/.wh.secret', type: 'file' }]);
    });

    it('refuses writing through a symlink the tar planted (absolute or relative)', async () => {
      await refused([
        { name: 'abs', type: 'symlink', linkname: outside },
        { name: 'abs/pwned', type: 'file', body: 'x' },
      ]);
      await rm(dest, { recursive: true, force: true });
      await refused([
        { name: 'rel', type: 'symlink', linkname: '../outside' },
        { name: 'rel/pwned', type: 'file', body: 'x' },
      ]);
      await rm(dest, { recursive: true, force: true });
      await refused([
        { name: 'abs', type: 'symlink', linkname: outside },
        { name: 'abs/.wh..wh..opq', type: 'file' },
      ]);
      await rm(dest, { recursive: true, force: true });
      await refused([
        { name: 'abs', type: 'symlink', linkname: outside },
        { name: 'abs/sub/deeper', type: 'file', body: 'x' },
      ]);
    });

    it('refuses hard links to paths outside the layer', async () => {
      await refused([{ name: 'h', type: 'link', linkname: '../outside/secret' }]);
      await rm(dest, { recursive: true, force: true });
      await refused([
        { name: 'abs', type: 'symlink', linkname: outside },
        { name: 'h', type: 'link', linkname: 'abs/secret' },
      ]);
    });

    it('replaces a planted symlink instead of writing through it', async () => {
      await unpackLayer(
        Readable.from([
          await handmade([
            { name: 'evil', type: 'symlink', linkname: join(outside, 'secret') },
            { name: 'evil', type: 'file', body: 'mine', mode: 0o644 },
          ]),
        ]),
        dest,
      );
      expect(await readFile(join(outside, 'secret'), 'utf8')).toBe('original');
      expect((await lstat(join(dest, 'evil'))).isFile()).toBe(true);
      expect(await readFile(join(dest, 'evil'), 'utf8')).toBe('mine');
    });

    it('keeps symlinks as data: an absolute target is never followed', async () => {
      await unpackLayer(
        Readable.from([await handmade([{ name: 'etc/passwd', type: 'symlink', linkname: '/etc/shadow' }])]),
        dest,
      );
      expect(await readlink(join(dest, 'etc', 'passwd'))).toBe('/etc/shadow');
      expect(existsSync(join(outside, 'pwned'))).toBe(false);
    });
  });
});

/** name → [uid, gid] of every entry of a tar. */
async function unpackTarOwners(tar: Buffer): Promise<Record<string, [number, number]>> {
  const owners: Record<string, [number, number]> = {};
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      owners[h.name] = [h.uid ?? -1, h.gid ?? -1];
      stream.resume();
      next();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(tar);
  await done;
  return owners;
}
