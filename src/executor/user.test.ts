import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_FILE_MAX } from './container-root.js';
import { readGroup, readPasswd, resolveUser } from './user.js';
import { userErrorOf } from '../../test/helpers/user-error.js';

const execFileP = promisify(execFile);

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  '# a comment',
  '',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'app:x:1000:1000:App:/home/app:/bin/sh',
  'web:x:1001:33::/var/www:/bin/sh',
  'broken:x:notanumber:1::/:/bin/sh',
  'lonely:x:2000:2000::/:/bin/sh',
].join('\n');

const GROUP = [
  'root:x:0:',
  'www-data:x:33:app',
  'app:x:1000:',
  'docker:x:999:app,web',
  'audio:x:29:web,app',
  'staff:x:50:',
  'bad:x:nope:app',
].join('\n');

let root: string;
let bare: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsbuild-user-test-'));
  await mkdir(join(root, 'etc'));
  await writeFile(join(root, 'etc', 'passwd'), PASSWD + '\n');
  await writeFile(join(root, 'etc', 'group'), GROUP + '\n');
  bare = await mkdtemp(join(tmpdir(), 'tsbuild-user-test-bare-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(bare, { recursive: true, force: true });
});

describe('readPasswd / readGroup', () => {
  it('parse entries, skipping comments, blanks and malformed ids', async () => {
    const pw = await readPasswd(root);
    expect(pw.map((e) => e.name)).toEqual(['root', 'daemon', 'app', 'web', 'lonely']);
    expect(pw.find((e) => e.name === 'app')).toEqual({ name: 'app', uid: 1000, gid: 1000, home: '/home/app' });
    const gr = await readGroup(root);
    expect(gr.map((g) => g.name)).toEqual(['root', 'www-data', 'app', 'docker', 'audio', 'staff']);
    expect(gr.find((g) => g.name === 'docker')).toEqual({ name: 'docker', gid: 999, members: ['app', 'web'] });
    expect(gr.find((g) => g.name === 'staff')?.members).toEqual([]);
  });

  it('a rootfs without the files has no entries', async () => {
    expect(await readPasswd(bare)).toEqual([]);
    expect(await readGroup(bare)).toEqual([]);
  });
});

describe('resolveUser', () => {
  it('empty is root, gid 0 listed (CVE-2023-25173), without reading the rootfs', async () => {
    expect(await resolveUser(root, '', 'USER')).toEqual({ uid: 0, gid: 0, additionalGids: [0] });
  });

  it('a name takes uid, primary gid and supplementary groups from the rootfs', async () => {
    expect(await resolveUser(root, 'app', 'USER')).toEqual({
      uid: 1000,
      gid: 1000,
      additionalGids: [1000, 33, 999, 29],
    });
    expect(await resolveUser(root, 'web', 'USER')).toEqual({ uid: 1001, gid: 33, additionalGids: [33, 999, 29] });
    expect(await resolveUser(root, 'daemon', 'USER')).toEqual({ uid: 1, gid: 1, additionalGids: [1] });
  });

  it('a uid in passwd is looked up like its name', async () => {
    expect(await resolveUser(root, '1000', 'USER')).toEqual({
      uid: 1000,
      gid: 1000,
      additionalGids: [1000, 33, 999, 29],
    });
    expect(await resolveUser(root, '0', 'USER')).toEqual({ uid: 0, gid: 0, additionalGids: [0] });
  });

  it('a uid missing from passwd is used as is, with gid 0', async () => {
    expect(await resolveUser(root, '4242', 'USER')).toEqual({ uid: 4242, gid: 0, additionalGids: [0] });
    expect(await resolveUser(bare, '4242', 'USER')).toEqual({ uid: 4242, gid: 0, additionalGids: [0] });
  });

  it('name:group sets that group and no supplementary groups', async () => {
    expect(await resolveUser(root, 'app:staff', 'USER')).toEqual({ uid: 1000, gid: 50, additionalGids: [50] });
    expect(await resolveUser(root, 'app:docker', 'USER')).toEqual({ uid: 1000, gid: 999, additionalGids: [999] });
  });

  it('uid:gid is numeric throughout, even without passwd/group', async () => {
    expect(await resolveUser(root, '1000:4000', 'USER')).toEqual({ uid: 1000, gid: 4000, additionalGids: [4000] });
    expect(await resolveUser(bare, '123:456', 'USER')).toEqual({ uid: 123, gid: 456, additionalGids: [456] });
    expect(await resolveUser(root, 'app:33', 'USER')).toEqual({ uid: 1000, gid: 33, additionalGids: [33] });
    expect(await resolveUser(root, '5000:staff', 'USER')).toEqual({ uid: 5000, gid: 50, additionalGids: [50] });
  });

  it('user: with an empty group keeps the primary group', async () => {
    expect(await resolveUser(root, 'web:', 'USER')).toEqual({ uid: 1001, gid: 33, additionalGids: [33] });
  });

  it('an unknown user name is a UserError naming the instruction and the user', async () => {
    const err = await userErrorOf(resolveUser(root, 'nobody', 'USER nobody'));
    expect(err.message).toBe('USER nobody: unable to find user nobody: no matching entries in passwd file');
    expect(err.hint).toMatch(/adduser -D nobody/);
    await userErrorOf(resolveUser(bare, 'app', 'USER'));
  });

  it('an unknown group name is a UserError', async () => {
    const err = await userErrorOf(resolveUser(root, 'app:wheel', 'COPY --chown=app:wheel'));
    expect(err.message).toBe('COPY --chown=app:wheel: unable to find group wheel: no matching entries in group file');
  });

  it('withSupplementary=false (for --chown) gives one owner only', async () => {
    expect(await resolveUser(root, 'app', '--chown', false)).toEqual({ uid: 1000, gid: 1000, additionalGids: [] });
    expect(await resolveUser(root, '1001', '--chown', false)).toEqual({ uid: 1001, gid: 33, additionalGids: [] });
  });

  it('a supplementary group equal to the primary gid is not repeated', async () => {
    const r = await mkdtemp(join(tmpdir(), 'tsbuild-user-test-dup-'));
    try {
      await mkdir(join(r, 'etc'));
      await writeFile(join(r, 'etc', 'passwd'), 'u:x:10:20::/:/bin/sh\n');
      await writeFile(join(r, 'etc', 'group'), 'g20:x:20:u\ng30:x:30:u\n');
      expect(await resolveUser(r, 'u', 'USER')).toEqual({ uid: 10, gid: 20, additionalGids: [20, 30] });
    } finally {
      await rm(r, { recursive: true, force: true });
    }
  });
});

describe('/etc/passwd and /etc/group that are not plain files of the root', () => {
  let evil: string;
  let host: string;
  beforeAll(async () => {
    evil = await mkdtemp(join(tmpdir(), 'tsbuild-user-test-evil-'));
    host = await mkdtemp(join(tmpdir(), 'tsbuild-user-test-host-'));
    await mkdir(join(evil, 'etc'));
    await mkdir(join(evil, 'inside'));
    await writeFile(join(host, 'passwd'), 'hostonly:x:4242:4242::/:/bin/sh\n');
    await writeFile(join(evil, 'inside', 'passwd'), 'rootonly:x:77:77::/:/bin/sh\n');
  });
  afterAll(async () => {
    await rm(evil, { recursive: true, force: true });
    await rm(host, { recursive: true, force: true });
  });
  const linkPasswd = async (target: string) => {
    await rm(join(evil, 'etc', 'passwd'), { force: true });
    await symlink(target, join(evil, 'etc', 'passwd'));
  };

  it('a symlink to a host path is that path inside the root, never the host file', async () => {
    await linkPasswd(join(host, 'passwd'));
    expect(await readPasswd(evil)).toEqual([]);
    await linkPasswd('../'.repeat(20) + join(host, 'passwd').slice(1));
    expect(await readPasswd(evil)).toEqual([]);
    await linkPasswd('/inside/passwd');
    expect((await readPasswd(evil)).map((e) => e.name)).toEqual(['rootonly']);
  });

  it('a device or a file over the limit is a user error, not read', async () => {
    await rm(join(evil, 'etc', 'passwd'), { force: true });
    await execFileP('mknod', [join(evil, 'etc', 'passwd'), 'c', '1', '5']);
    const err = await userErrorOf(resolveUser(evil, 'app', 'USER app'));
    expect(err.message).toMatch(/\/etc\/passwd in the image is not a regular file/);
    await rm(join(evil, 'etc', 'passwd'));
    await truncate(join(evil, 'inside', 'passwd'), ROOT_FILE_MAX + 1);
    await linkPasswd('/inside/passwd');
    expect((await userErrorOf(readPasswd(evil))).message).toMatch(/larger than 4 MiB/);
  });
});
