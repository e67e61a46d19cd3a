import { lstat, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { userErrorOf } from '../../test/helpers/user-error.js';
import { idMappingFromRanges } from './id-mapping.js';
import { mkdirAllInRoot } from './mkdir-in-root.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsbuild-mkdir-in-root-'));
});
afterEach(async () => rm(root, { recursive: true, force: true }));

const opts = { uid: 7, gid: 8, mode: 0o750, what: 'WORKDIR /x' };

describe('mkdirAllInRoot', () => {
  it('makes the dirs a dangling link points at, inside the root, with the owner and mode', async () => {
    await symlink('/nonexist/deeper', join(root, 'evil'));
    const host = await mkdirAllInRoot(root, '/evil/sub', opts);
    expect(host).toBe(join(root, 'nonexist/deeper/sub'));
    for (const d of ['nonexist', 'nonexist/deeper', 'nonexist/deeper/sub']) {
      const st = await lstat(join(root, d));
      expect([st.isDirectory(), st.mode & 0o777, st.uid, st.gid]).toEqual([true, 0o750, 7, 8]);
    }
  });

  it('gives the created dirs the owner through the id mapping', async () => {
    const idMapping = idMappingFromRanges(
      [{ containerID: 0, hostID: 100_000, size: 65_536 }],
      [{ containerID: 0, hostID: 200_000, size: 65_536 }],
    );
    await mkdir(join(root, 'have'));
    await mkdirAllInRoot(root, '/have/new/deeper', { ...opts, idMapping });
    for (const d of ['have/new', 'have/new/deeper']) {
      const st = await lstat(join(root, d));
      expect([st.uid, st.gid]).toEqual([100_007, 200_008]);
    }
    // an existing directory is left as it is
    expect((await lstat(join(root, 'have'))).uid).toBe(process.getuid?.());
  });

  it('a relative link climbing out stays in the root', async () => {
    await mkdir(join(root, 'a'));
    await symlink('../../../../../../escape/here', join(root, 'a/up'));
    expect(await mkdirAllInRoot(root, '/a/up/x', opts)).toBe(join(root, 'escape/here/x'));
  });

  it('a file on the way, or a symlink loop, is a UserError', async () => {
    await writeFile(join(root, 'f'), '');
    expect((await userErrorOf(mkdirAllInRoot(root, '/f/sub', opts))).message).toBe(
      'WORKDIR /x: /f exists and is not a directory',
    );
    await symlink('/f/deeper', join(root, 'tofile'));
    expect((await userErrorOf(mkdirAllInRoot(root, '/tofile/sub', opts))).message).toMatch(/not a directory/);
    await symlink('/loop', join(root, 'loop'));
    expect((await userErrorOf(mkdirAllInRoot(root, '/loop/sub', opts))).message).toMatch(
      /too many levels of symbolic links/,
    );
  });

  it('makes a path 1,000 levels deep in one walk (resolving each prefix again took over a minute)', async () => {
    const dir = '/d'.repeat(1000);
    const host = await mkdirAllInRoot(root, dir, opts);
    expect(host).toBe(join(root, dir));
    expect((await lstat(host)).isDirectory()).toBe(true);
  }, 20_000);
});
