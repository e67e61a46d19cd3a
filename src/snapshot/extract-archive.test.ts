import { execFile } from 'node:child_process';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTarArchive } from './archive-sniff.js';
import { extractArchive } from './extract-archive.js';
import { idMappingFromRanges } from './id-mapping.js';
import { userErrorOf } from '../../test/helpers/user-error.js';

const run = promisify(execFile);

let tmp: string;
let dest: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-extract-test-'));
  dest = join(tmp, 'dest');
  await mkdir(dest);
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

type Spec = tarStream.Headers & { body?: string };

/** Writes a tar made entry by entry (names and links exactly as given, hostile ones included). */
async function tarOf(name: string, entries: Spec[]): Promise<string> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((r) => pack.on('end', r));
  for (const { body, ...h } of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ mode: 0o644, mtime: new Date(1_600_000_000_000), ...h }, body ?? '', (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }
  pack.finalize();
  await done;
  const path = join(tmp, name);
  await writeFile(path, Buffer.concat(chunks));
  return path;
}

const extract = (archive: string, owner?: { uid: number; gid: number }) =>
  extractArchive(archive, dest, { label: 'x.tar', ...(owner ? { owner } : {}) });

/** A tree made with the tar program, in every compression ADD accepts. */
async function realArchives(): Promise<Record<string, string>> {
  const src = join(tmp, 'src');
  await mkdir(join(src, 'top/inner'), { recursive: true });
  await writeFile(join(src, 'top/inner/x'), 'x');
  await writeFile(join(src, 'top/y'), 'y');
  await symlink('y', join(src, 'top/ly'));
  await run('ln', [join(src, 'top/y'), join(src, 'top/hy')]);
  await run('chown', ['-R', '1234:5678', join(src, 'top')]);
  await chmod(join(src, 'top/inner'), 0o750);
  await chmod(join(src, 'top/y'), 0o4755); // after chown, which clears setuid
  const out: Record<string, string> = {};
  for (const [kind, flag] of [
    ['tar', ''],
    ['tar.gz', 'z'],
    ['tar.bz2', 'j'],
    ['tar.xz', 'J'],
  ] as const) {
    out[kind] = join(tmp, `t.${kind}`);
    await run('tar', [`-c${flag}f`, out[kind]!, '-C', src, 'top']);
  }
  out['tar.zst'] = join(tmp, 't.tar.zst');
  await run('zstd', ['-q', '-o', out['tar.zst'], out.tar!]);
  return out;
}

describe('isTarArchive', () => {
  it('knows tar, tar.gz, tar.bz2, tar.xz and tar.zst by their content, not their name', async () => {
    for (const [kind, path] of Object.entries(await realArchives())) {
      const renamed = join(tmp, `renamed-${kind}.bin`);
      await run('cp', [path, renamed]);
      expect(await isTarArchive(renamed), kind).toBe(true);
    }
  });

  it('a compressed file that is not a tar, an empty tar, text and an empty file are not archives', async () => {
    await writeFile(join(tmp, 'plain.gz'), gzipSync('just text, not a tar'));
    await writeFile(join(tmp, 'empty.tar'), Buffer.alloc(10240));
    await writeFile(join(tmp, 'text.tar'), 'hello'.repeat(200));
    await writeFile(join(tmp, 'zero'), '');
    await writeFile(join(tmp, 'broken.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    for (const f of ['plain.gz', 'empty.tar', 'text.tar', 'zero', 'broken.gz'])
      expect(await isTarArchive(join(tmp, f)), f).toBe(false);
  });
});

describe('extractArchive', () => {
  it("extracts every compression with the archive's owners, modes, links and times", async () => {
    for (const [kind, path] of Object.entries(await realArchives())) {
      await rm(dest, { recursive: true, force: true });
      await mkdir(dest);
      await extractArchive(path, dest, { label: kind });
      const y = await lstat(join(dest, 'top/y'));
      expect([y.uid, y.gid, y.mode & 0o7777], kind).toEqual([1234, 5678, 0o4755]);
      expect((await lstat(join(dest, 'top/inner'))).mode & 0o7777).toBe(0o750);
      expect(await readlink(join(dest, 'top/ly'))).toBe('y');
      expect((await lstat(join(dest, 'top/hy'))).ino).toBe(y.ino);
      expect(await readFile(join(dest, 'top/inner/x'), 'utf8')).toBe('x');
    }
  });

  it('--chown gives every entry that owner', async () => {
    await extract(
      await tarOf('o.tar', [
        { name: 'd', type: 'directory', uid: 5, gid: 6 },
        { name: 'd/f', uid: 5, gid: 6, body: 'f' },
      ]),
      { uid: 100, gid: 200 },
    );
    for (const p of ['d', 'd/f']) {
      const st = await lstat(join(dest, p));
      expect([st.uid, st.gid]).toEqual([100, 200]);
    }
  });

  it("shifts the archive's owners, a --chown owner and created parents through the id mapping", async () => {
    const idMapping = idMappingFromRanges(
      [{ containerID: 0, hostID: 100_000, size: 65_536 }],
      [{ containerID: 0, hostID: 200_000, size: 65_536 }],
    );
    const archive = await tarOf('m.tar', [
      { name: 'p/d/f', uid: 5, gid: 6, body: 'f' },
      { name: 'p/l', type: 'symlink', linkname: 'd/f', uid: 7, gid: 8 },
    ]);
    const owner = async (p: string) => {
      const st = await lstat(join(dest, p));
      return [st.uid, st.gid];
    };
    await extractArchive(archive, dest, { label: 'm.tar', idMapping });
    expect(await owner('p')).toEqual([100_000, 200_000]);
    expect(await owner('p/d/f')).toEqual([100_005, 200_006]);
    expect(await owner('p/l')).toEqual([100_007, 200_008]);
    await extractArchive(archive, dest, { label: 'm.tar', idMapping, owner: { uid: 1, gid: 2 } });
    expect(await owner('p/d/f')).toEqual([100_001, 200_002]);
  });

  it('keeps the destination\'s own metadata for the archive\'s "./" entry and makes missing parents 0755 0:0', async () => {
    await chmod(dest, 0o711);
    await extract(
      await tarOf('p.tar', [
        { name: './', type: 'directory', mode: 0o777 },
        { name: './a/b/c.txt', uid: 7, gid: 7, body: 'c' },
      ]),
    );
    expect((await stat(dest)).mode & 0o7777).toBe(0o711);
    const a = await lstat(join(dest, 'a'));
    expect([a.mode & 0o7777, a.uid, a.gid]).toEqual([0o755, 0, 0]);
    expect(await readFile(join(dest, 'a/b/c.txt'), 'utf8')).toBe('c');
  });

  it('replaces existing files and merges existing directories', async () => {
    await mkdir(join(dest, 'keep'));
    await writeFile(join(dest, 'keep/old'), 'old');
    await writeFile(join(dest, 'was-file'), 'f');
    await mkdir(join(dest, 'was-dir'));
    await writeFile(join(dest, 'was-dir/inside'), 'i');
    await writeFile(join(dest, 'same'), 'old');
    await extract(
      await tarOf('r.tar', [
        { name: 'keep', type: 'directory', mode: 0o700 },
        { name: 'keep/new', body: 'new' },
        { name: 'was-file', type: 'directory' },
        { name: 'was-dir', body: 'now a file' },
        { name: 'same', body: 'new' },
      ]),
    );
    expect((await readdir(join(dest, 'keep'))).sort()).toEqual(['new', 'old']);
    expect((await lstat(join(dest, 'keep'))).mode & 0o7777).toBe(0o700);
    expect((await lstat(join(dest, 'was-file'))).isDirectory()).toBe(true);
    expect(await readFile(join(dest, 'was-dir'), 'utf8')).toBe('now a file');
    expect(await readFile(join(dest, 'same'), 'utf8')).toBe('new');
  });

  it('absolute names and symlinks resolve inside the destination, never outside it', async () => {
    const outside = join(tmp, 'outside');
    await mkdir(outside);
    await symlink(outside, join(dest, 'hostlink'));
    await extract(
      await tarOf('a.tar', [
        { name: '/etc/abs.txt', body: 'abs' },
        { name: 'root', type: 'symlink', linkname: '/' },
        { name: 'root/via-link.txt', body: 'via' },
        { name: 'hostlink/escaped.txt', body: 'no' },
      ]),
    );
    expect(await readFile(join(dest, 'etc/abs.txt'), 'utf8')).toBe('abs');
    expect(await readFile(join(dest, 'via-link.txt'), 'utf8')).toBe('via');
    expect(await readdir(outside)).toEqual([]);
    expect(await readFile(join(dest, outside, 'escaped.txt'), 'utf8')).toBe('no');
  });

  it('refuses names and hard links that climb out with ..', async () => {
    for (const [i, entries, what] of [
      [1, [{ name: '../evil', body: 'x' }], /"..\/evil" is outside of the destination/],
      [2, [{ name: 'a/../../evil', body: 'x' }], /outside of the destination/],
      [5, [{ name: 'h', type: 'link', linkname: '../x' }], /outside of the destination/],
    ] as const) {
      const err = await userErrorOf(extract(await tarOf(`bad${i}.tar`, [...entries] as Spec[])));
      expect(err.message).toMatch(what);
      expect(err.message).toMatch(/^ADD x.tar: /);
    }
    expect(await readdir(tmp)).not.toContain('evil');
  });

  it('keeps symlinks whatever they point at, `..` out included (BuildKit: chroot extraction); writes through them stay inside', async () => {
    await extract(
      await tarOf('ok.tar', [
        { name: 'd/up', type: 'symlink', linkname: '../x' },
        { name: 'abs', type: 'symlink', linkname: '/etc/passwd' },
        { name: 'out', type: 'symlink', linkname: '../../../outside-dir' },
        { name: 'out/through.txt', body: 'in' },
      ]),
    );
    expect(await readlink(join(dest, 'd/up'))).toBe('../x');
    expect(await readlink(join(dest, 'abs'))).toBe('/etc/passwd');
    expect(await readlink(join(dest, 'out'))).toBe('../../../outside-dir');
    expect(await readFile(join(dest, 'outside-dir/through.txt'), 'utf8')).toBe('in');
  });

  it('a damaged archive is a UserError suggesting --unpack=false', async () => {
    const good = await tarOf('good.tar', [{ name: 'f', body: 'x'.repeat(5000) }]);
    const cut = join(tmp, 'cut.tar');
    await writeFile(cut, (await readFile(good)).subarray(0, 1200));
    const err = await userErrorOf(extract(cut));
    expect(err.hint).toMatch(/--unpack=false/);
  });

  it('writes .wh. files as plain files: an archive is not a layer', async () => {
    await extract(await tarOf('wh.tar', [{ name: '.wh.gone', body: '' }]));
    expect((await lstat(join(dest, '.wh.gone'))).isFile()).toBe(true);
  });

  it('makes fifos from the archive', async () => {
    await chown(dest, 0, 0);
    await extract(await tarOf('fifo.tar', [{ name: 'pipe', type: 'fifo', mode: 0o640 }]));
    const st = await lstat(join(dest, 'pipe'));
    expect(st.isFIFO()).toBe(true);
    expect(st.mode & 0o7777).toBe(0o640);
  });
});
