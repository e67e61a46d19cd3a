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
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { selectContext, type SelectedMatch } from '../cache/context-source.js';
import { copyIntoRoot, type CopyRequest } from './copy-files.js';
import { idMappingFromRanges } from './id-mapping.js';
import { parseModeChange } from './file-mode.js';
import { userErrorOf } from '../../test/helpers/user-error.js';

let tmp: string;
let src: string;
let dest: string;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-copy-files-test-'));
  src = join(tmp, 'src');
  dest = join(tmp, 'rootfs');
  await mkdir(src);
  await mkdir(dest);
  const files: Record<string, string> = { 'a.txt': 'A', 'b.txt': 'BB', 'dir/one': '1', 'dir/sub/two': '22' };
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(dirname(join(src, rel)), { recursive: true });
    await writeFile(join(src, rel), content);
  }
  await chmod(join(src, 'a.txt'), 0o600);
  await chmod(join(src, 'dir/sub'), 0o700);
  await chown(join(src, 'a.txt'), 1000, 1001);
  await chown(join(src, 'dir/one'), 2000, 2001);
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function select(...patterns: string[]): Promise<SelectedMatch[]> {
  const sel = await selectContext(src, patterns, { isIgnored: () => false });
  return sel.sources.flatMap((s) => s.matches);
}

async function copy(patterns: string[], destPath: string, over: Partial<CopyRequest> = {}): Promise<void> {
  await copyIntoRoot({
    destRoot: dest,
    dest: destPath,
    sources: [{ srcRoot: src, matches: await select(...patterns) }],
    inline: [],
    preserveOwner: false,
    ...over,
  });
}

const read = (p: string) => readFile(join(dest, p), 'utf8');
const modeOf = async (p: string) => (await lstat(join(dest, p))).mode & 0o7777;
const ownerOf = async (p: string) => {
  const st = await lstat(join(dest, p));
  return [st.uid, st.gid];
};

describe('copyIntoRoot: destinations', () => {
  it('a file to `dir/` lands in that dir under its own name', async () => {
    await copy(['a.txt'], '/app/');
    expect(await readdir(join(dest, 'app'))).toEqual(['a.txt']);
    expect(await read('app/a.txt')).toBe('A');
  });

  it('a file to a file name is copied under that name', async () => {
    await copy(['a.txt'], '/app/renamed.txt');
    expect(await readdir(join(dest, 'app'))).toEqual(['renamed.txt']);
    expect(await read('app/renamed.txt')).toBe('A');
  });

  it('a file to an existing directory without a trailing slash goes into it', async () => {
    await mkdir(join(dest, 'existing'));
    await copy(['a.txt'], '/existing');
    expect(await read('existing/a.txt')).toBe('A');
  });

  it('several files need a destination ending in / (or an existing directory)', async () => {
    const err = await userErrorOf(copy(['a.txt', 'b.txt'], '/multi'));
    expect(err.message).toBe(
      'When using COPY with more than one source file, the destination must be a directory and end with a /',
    );
    expect(err.hint).toMatch(/\/multi\//);
    expect(await lstat(join(dest, 'multi')).catch(() => undefined)).toBeUndefined();
    await copy(['a.txt', 'b.txt'], '/multi/');
    expect((await readdir(join(dest, 'multi'))).sort()).toEqual(['a.txt', 'b.txt']);
    await mkdir(join(dest, 'etc'));
    await copy(['a.txt', 'b.txt'], '/etc');
    expect((await readdir(join(dest, 'etc'))).sort()).toEqual(['a.txt', 'b.txt']);
  });

  it('several directory sources merge into a destination without a slash; a file after them goes in it', async () => {
    await copy(['dir', 'dir/sub'], '/merged');
    expect((await readdir(join(dest, 'merged'))).sort()).toEqual(['one', 'sub', 'two']);
    await copy(['dir', 'a.txt'], '/merged2');
    expect((await readdir(join(dest, 'merged2'))).sort()).toEqual(['a.txt', 'one', 'sub']);
    // a file first names the destination itself; a directory after it cannot go there
    expect((await userErrorOf(copy(['a.txt', 'dir'], '/merged3'))).message).toMatch(/more than one source file/);
  });

  it('an empty selection (a wildcard matching nothing) copies nothing and creates nothing', async () => {
    await copyIntoRoot({
      destRoot: dest,
      dest: '/nothing/here/',
      sources: [{ srcRoot: src, matches: [] }],
      inline: [],
      preserveOwner: false,
    });
    expect(await readdir(dest)).toEqual([]);
  });

  it('a file replaces an existing file', async () => {
    await mkdir(join(dest, 'app'));
    await writeFile(join(dest, 'app/a.txt'), 'old content');
    await copy(['a.txt'], '/app/');
    expect(await read('app/a.txt')).toBe('A');
  });

  it("a directory's contents are copied into dest, not the directory itself", async () => {
    await copy(['dir'], '/app');
    expect((await readdir(join(dest, 'app'))).sort()).toEqual(['one', 'sub']);
    expect(await read('app/one')).toBe('1');
    expect(await read('app/sub/two')).toBe('22');
    expect(await modeOf('app/sub')).toBe(0o700);
  });

  it('the context root copies everything', async () => {
    await copy(['.'], '/all/');
    expect((await readdir(join(dest, 'all'))).sort()).toEqual(['a.txt', 'b.txt', 'dir']);
    expect(await read('all/dir/sub/two')).toBe('22');
  });

  it('a symlinked source is copied under the link name', async () => {
    await symlink('a.txt', join(src, 'alias'));
    await copy(['alias'], '/app/');
    expect(await readdir(join(dest, 'app'))).toEqual(['alias']);
    expect((await lstat(join(dest, 'app/alias'))).isFile()).toBe(true);
    expect(await read('app/alias')).toBe('A');
  });

  it('inline (heredoc) files are written with 0644 and the owner', async () => {
    await copyIntoRoot({
      destRoot: dest,
      dest: '/etc/app/',
      sources: [],
      inline: [{ name: 'conf', content: 'x=1\n' }],
      preserveOwner: false,
      owner: { uid: 7, gid: 8 },
    });
    expect(await read('etc/app/conf')).toBe('x=1\n');
    expect(await modeOf('etc/app/conf')).toBe(0o644);
    expect(await ownerOf('etc/app/conf')).toEqual([7, 8]);
  });

  it('copying a file over a directory is a UserError', async () => {
    await mkdir(join(dest, 'app/a.txt'), { recursive: true });
    const err = await userErrorOf(copy(['a.txt'], '/app/'));
    expect(err.message).toMatch(/over the directory \/app\/a\.txt/);
  });

  it('a destination whose parent is a file is a UserError', async () => {
    await writeFile(join(dest, 'file'), 'f');
    const err = await userErrorOf(copy(['a.txt'], '/file/sub/'));
    expect(err.message).toBe('cannot copy to /file/sub/: /file exists and is not a directory');
  });
});

describe('copyIntoRoot: owners and modes', () => {
  it('created parent dirs get 0755 and the copy owner', async () => {
    await chmod(dest, 0o700);
    await copy(['a.txt'], '/x/y/z/', { owner: { uid: 1234, gid: 5678 } });
    for (const d of ['x', 'x/y', 'x/y/z']) {
      expect(await modeOf(d), d).toBe(0o755);
      expect(await ownerOf(d), d).toEqual([1234, 5678]);
    }
    expect(await ownerOf('x/y/z/a.txt')).toEqual([1234, 5678]);
    // an existing parent is left alone
    expect(await modeOf('.')).toBe(0o700);
  });

  it('created parent dirs default to 0:0 with 0755 whatever the umask', async () => {
    const old = process.umask(0o077);
    try {
      await copy(['dir'], '/deep/er');
    } finally {
      process.umask(old);
    }
    expect(await modeOf('deep')).toBe(0o755);
    expect(await modeOf('deep/er')).toBe(0o755);
    expect(await ownerOf('deep/er')).toEqual([0, 0]);
  });

  it('files keep their mode; owners become 0:0 from the context', async () => {
    await copy(['a.txt', 'dir'], '/app/');
    expect(await modeOf('app/a.txt')).toBe(0o600);
    expect(await ownerOf('app/a.txt')).toEqual([0, 0]);
    expect(await ownerOf('app/one')).toEqual([0, 0]);
  });

  it('preserveOwner keeps the source owners', async () => {
    await copy(['a.txt', 'dir'], '/app/', { preserveOwner: true });
    expect(await ownerOf('app/a.txt')).toEqual([1000, 1001]);
    expect(await ownerOf('app/one')).toEqual([2000, 2001]);
  });

  it('--chown wins over preserveOwner, for files and directories', async () => {
    await copy(['dir'], '/app/', { preserveOwner: true, owner: { uid: 5, gid: 6 } });
    expect(await ownerOf('app/one')).toEqual([5, 6]);
    expect(await ownerOf('app/sub')).toEqual([5, 6]);
    expect(await ownerOf('app/sub/two')).toEqual([5, 6]);
  });

  it('an octal --chmod sets the mode of copied files and directories and of the parents it creates (BuildKit testCopyChmod)', async () => {
    await mkdir(join(dest, 'existing'));
    await chmod(join(dest, 'existing'), 0o700);
    await copy(['dir'], '/p/app/', { chmod: 0o751 });
    await copy(['a.txt'], '/existing/new/a.txt', { chmod: 0o770 });
    expect(await modeOf('p/app/one')).toBe(0o751);
    expect(await modeOf('p/app/sub')).toBe(0o751);
    expect(await modeOf('p/app/sub/two')).toBe(0o751);
    expect(await modeOf('p')).toBe(0o751);
    expect(await modeOf('existing/new')).toBe(0o770);
    expect(await modeOf('existing')).toBe(0o700);
  });

  it("a symbolic --chmod applies to each entry's own mode (X only where something can execute)", async () => {
    await chmod(join(src, 'dir/one'), 0o744);
    await copy(['dir', 'a.txt'], '/s/', { chmod: parseModeChange('go-rwx,a+X') });
    expect(await modeOf('s/one')).toBe(0o711); // 0744 → go-rwx → 0700 → a+X (u had x) → 0711
    expect(await modeOf('s/sub')).toBe(0o711); // directories always take X
    expect(await modeOf('s/sub/two')).toBe(0o600); // 0644 → 0600, nothing executable
    expect(await modeOf('s/a.txt')).toBe(0o600);
    expect(await modeOf('s')).toBe(0o755); // created, not copied
  });

  it('an octal --chmod sets special bits too, as current BuildKit does', async () => {
    await copy(['a.txt'], '/bin/su', { chmod: parseModeChange('4755') });
    expect(await modeOf('bin/su')).toBe(0o4755);
  });

  it('heredoc files start from 0644 under a symbolic --chmod', async () => {
    await copyIntoRoot({
      destRoot: dest,
      dest: '/h/',
      sources: [],
      inline: [{ name: 'run.sh', content: 'x' }],
      preserveOwner: false,
      chmod: parseModeChange('+x'),
    });
    expect(await modeOf('h/run.sh')).toBe(0o755);
  });

  it('a setuid bit survives the chown', async () => {
    await chmod(join(src, 'b.txt'), 0o4755);
    await copy(['b.txt'], '/bin/', { owner: { uid: 3, gid: 3 } });
    expect(await modeOf('bin/b.txt')).toBe(0o4755);
  });

  it('directory mtimes are kept even though children were written after them', async () => {
    const t = new Date('2011-05-06T07:08:09Z');
    await utimes(join(src, 'dir/sub'), t, t);
    await copy(['dir'], '/app/');
    expect((await stat(join(dest, 'app/sub'))).mtime.getTime()).toBe(t.getTime());
  });

  it('file mtimes are kept', async () => {
    const t = new Date('2010-01-02T03:04:05Z');
    await utimes(join(src, 'b.txt'), t, t);
    await copy(['b.txt'], '/app/');
    expect((await stat(join(dest, 'app/b.txt'))).mtime.getTime()).toBe(t.getTime());
  });
});

describe('copyIntoRoot: id mapping', () => {
  const ids = idMappingFromRanges(
    [{ containerID: 0, hostID: 100_000, size: 65_536 }],
    [{ containerID: 0, hostID: 200_000, size: 65_536 }],
  );

  it('shifts the 0:0 default, created parents and inline files', async () => {
    await copy(['a.txt', 'dir'], '/app/x/', { idMapping: ids });
    expect(await ownerOf('app')).toEqual([100_000, 200_000]);
    expect(await ownerOf('app/x/a.txt')).toEqual([100_000, 200_000]);
    expect(await ownerOf('app/x/one')).toEqual([100_000, 200_000]);
    expect(await ownerOf('app/x/sub')).toEqual([100_000, 200_000]);
    await copyIntoRoot({
      destRoot: dest,
      dest: '/inline',
      sources: [],
      inline: [{ name: 'doc', content: 'hi' }],
      preserveOwner: false,
      idMapping: ids,
    });
    expect(await ownerOf('inline')).toEqual([100_000, 200_000]);
  });

  it('shifts a --chown owner', async () => {
    await copy(['a.txt'], '/c/', { owner: { uid: 1234, gid: 5678 }, idMapping: ids });
    expect(await ownerOf('c')).toEqual([101_234, 205_678]);
    expect(await ownerOf('c/a.txt')).toEqual([101_234, 205_678]);
  });

  it('keeps preserved owners as they are: they come from host files already mapped', async () => {
    await copy(['a.txt'], '/p/', { preserveOwner: true, idMapping: ids });
    expect(await ownerOf('p/a.txt')).toEqual([1000, 1001]);
    expect(await ownerOf('p')).toEqual([100_000, 200_000]);
  });
});

describe('copyIntoRoot: links', () => {
  it('symlinks inside a directory are copied as links, target unchanged', async () => {
    await symlink('../a.txt', join(src, 'dir/up'));
    await symlink('/etc/passwd', join(src, 'dir/abs'));
    await copy(['dir'], '/app/');
    expect((await lstat(join(dest, 'app/up'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(dest, 'app/up'))).toBe('../a.txt');
    expect(await readlink(join(dest, 'app/abs'))).toBe('/etc/passwd');
  });

  it('hard links within the copy stay hard links', async () => {
    await link(join(src, 'dir/one'), join(src, 'dir/sub/one-again'));
    await copy(['dir'], '/app/');
    const a = await stat(join(dest, 'app/one'));
    const b = await stat(join(dest, 'app/sub/one-again'));
    expect(a.ino).toBe(b.ino);
    expect(a.nlink).toBe(2);
    expect(await read('app/sub/one-again')).toBe('1');
  });

  // Overlapping sources (`COPY dir/one dir/one /app/`) place a hard-linked file once.
  it('the same hard-linked file named twice is copied once, without error', async () => {
    await link(join(src, 'dir/one'), join(src, 'dir/one-link'));
    await copy(['dir/one', 'dir/one'], '/app/');
    expect(await read('app/one')).toBe('1');
  });

  it('writes through an absolute symlink in the destination stay inside the rootfs', async () => {
    await mkdir(join(dest, 'usr/local'), { recursive: true });
    await symlink('/usr/local', join(dest, 'opt'));
    await symlink('/../../../../tmp-escape-target', join(dest, 'escape'));
    await copy(['a.txt'], '/opt/');
    expect(await read('usr/local/a.txt')).toBe('A');
    await copy(['b.txt'], '/escape/');
    expect(await read('tmp-escape-target/b.txt')).toBe('BB');
  });
});
