/**
 * isolation chroot for a user other than root without subordinate ids (what uid 1000 gets in a pod
 * with the default security profile): steps run under proot, image owners kept in user.tsbuild.owner
 * xattrs. The image must be the one root builds with runc, wherever a step's effect is the same.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, REPO_ROOT, runCli } from '../helpers/build-fixture.js';

/** An ordinary user this machine keeps WITHOUT subordinate ids (so rootless mode cannot work for it). */
const TEST_USER = 'tsbuild-nonroot';
const has = (cmd: string, args: string[]): boolean => {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const granted = (f: string) => existsSync(f) && new RegExp(`^${TEST_USER}:`, 'm').test(readFileSync(f, 'utf8'));
const skipReason =
  process.getuid?.() !== 0
    ? 'needs root (to run tsbuild as the test user, and the runc build to compare with)'
    : !has('id', ['-u', TEST_USER])
      ? `no user ${TEST_USER}`
      : granted('/etc/subuid') || granted('/etc/subgid')
        ? `${TEST_USER} has subordinate ids: rootless mode would be chosen`
        : !has('proot', ['--version'])
          ? 'no proot (Debian: proot)'
          : undefined;
if (skipReason) console.warn(`chroot-nonroot tests skipped: ${skipReason}`);

let uid = -1;
let gid = -1;
let work = '';
let cliDir = '';
const EPOCH = { SOURCE_DATE_EPOCH: '1700000000' };

beforeAll(async () => {
  if (skipReason) return;
  uid = Number(execFileSync('id', ['-u', TEST_USER], { encoding: 'utf8' }));
  gid = Number(execFileSync('id', ['-g', TEST_USER], { encoding: 'utf8' }));
  // the checkout may sit below a directory only root may enter: the CLI and the fixture are
  // copied where the user can read them (timestamps kept: the launcher takes a current bundle only)
  work = await mkdtemp(join(tmpdir(), 'tsbuild-nonroot-'));
  cliDir = join(work, 'cli');
  for (const part of ['bin', 'dist', 'package.json'])
    await cp(join(REPO_ROOT, part), join(cliDir, part), { recursive: true, preserveTimestamps: true });
  await cp(join(REPO_ROOT, 'fixtures/base'), join(work, 'fx/base'), { recursive: true });
  await mkdir(join(work, 'fx/multi'));
  await writeFile(join(work, 'fx/multi/f'), 'from the context\n');
  // an archive ADD extracts, its entries owned by app and by root
  await mkdir(join(work, 'tar/d'), { recursive: true });
  await writeFile(join(work, 'tar/d/g'), 'from the archive\n');
  execFileSync('tar', [
    '-C',
    join(work, 'tar'),
    '--owner=1000',
    '--group=1000',
    '-cf',
    join(work, 'fx/multi/a.tar'),
    'd',
  ]);
  execFileSync('tar', ['-C', join(work, 'tar'), '--owner=0', '--group=0', '-rf', join(work, 'fx/multi/a.tar'), 'd/g']);
  await writeFile(
    join(work, 'fx/multi/Dockerfile'),
    [
      'FROM oci-layout://../base/busybox AS build',
      'RUN mkdir -p /out/d && echo built > /out/a && echo gone > /out/b && chmod 4755 /out/a',
      // a whiteout, a symlink, a file of the base removed
      'RUN rm /out/b && ln -s a /out/link && rm -f /bin/zcat',
      // a cache mount owned by app: its uid option cannot be chowned to as this user
      'RUN --mount=type=cache,target=/cache,uid=1000 echo kept > /cache/x && cp /cache/x /out/from-cache',
      'FROM oci-layout://../base/busybox',
      'COPY --from=build /out /app',
      'COPY --chown=1000:1000 f /home/app/owned',
      // read-only entries of another owner: their records need a write this user must open them for
      'COPY --chown=1000:1000 --chmod=444 f /home/app/readonly',
      'COPY f /srv/',
      'ADD a.tar /opt/',
      'WORKDIR /work',
      'RUN cat /app/a > /app/copied && id -u > /uid0',
      // a dir its owner may not write: removed, and written into by a later layer, as this user
      'RUN mkdir -p /ro/sub && touch /ro/sub/f && chmod 555 /ro/sub',
      'RUN chmod 755 /ro/sub && touch /ro/sub/g && chmod 555 /ro/sub',
      'USER app',
      'RUN id -u > /tmp/uid && mkdir /home/app/made && echo x > /home/app/made/x',
      'RUN mkdir /home/app/closed && touch /home/app/closed/y && chmod 555 /home/app/closed',
      'RUN ls /home/app/closed',
      '',
    ].join('\n'),
  );
  execFileSync('chmod', ['-R', 'a+rX', work]);
  await mkdir(join(work, 'user-state'));
  await chown(join(work, 'user-state'), uid, gid);
  await chmod(join(work, 'user-state'), 0o700);
  await mkdir(join(work, 'user-out'));
  await chown(join(work, 'user-out'), uid, gid);
}, 120_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function build(as: 'root' | 'user', extra: string[] = []): Promise<CliResult & { digests: string[] }> {
  const meta = join(work, as === 'user' ? 'user-out' : '', `meta-${as}.json`);
  const args = ['build', '--progress=plain', '--allow', `fs.read=${join(work, 'fx/base')}`, '--metadata-file', meta];
  const res = await runCli([...args, ...extra, 'multi'], {
    cwd: join(work, 'fx'),
    launcher: join(cliDir, 'bin/tsbuild'),
    ...(as === 'root'
      ? { env: { ...EPOCH, TSBUILD_ROOT: join(work, 'root-state') } }
      : {
          wrapper: ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--init-groups'],
          env: {
            ...EPOCH,
            HOME: join(work, 'nohome'),
            TSBUILD_ROOT: join(work, 'user-state'),
            TSBUILD_RUNTIME_DIR: undefined,
            XDG_RUNTIME_DIR: undefined,
          },
        }),
  });
  if (res.exitCode !== 0) return { ...res, digests: [] };
  const m = JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>;
  return { ...res, digests: [m['containerimage.config.digest']!, m['containerimage.digest']!] };
}

describe.skipIf(skipReason !== undefined)('isolation chroot as a user other than root, without subordinate ids', () => {
  it('chosen by itself (rootless cannot work), builds the multi-stage Dockerfile to the digests root gets with runc', async () => {
    const root = await build('root');
    expect(root.exitCode, root.stderr).toBe(0);
    const user = await build('user');
    expect(user.exitCode, user.stderr).toBe(0);
    expect(user.stderr.split('\n')[0]).toMatch(
      /^isolation chroot \(tsbuild may not mount or make namespaces here\): RUN steps run under proot/,
    );
    expect(user.digests).toEqual(root.digests);
    // and again with the flag, from its cache
    const again = await build('user', ['--isolation', 'chroot']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.digests).toEqual(root.digests);
  }, 600_000);

  it('--output type=tar gives the root filesystem root gets, owners included', async () => {
    const root = await build('root', ['--output', `type=tar,dest=${join(work, 'root.tar')}`]);
    expect(root.exitCode, root.stderr).toBe(0);
    const user = await build('user', ['--output', `type=tar,dest=${join(work, 'user-out/user.tar')}`]);
    expect(user.exitCode, user.stderr).toBe(0);
    const list = (tar: string) =>
      execFileSync('tar', ['--numeric-owner', '-tvf', tar], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => /(app|opt|srv|home|out|ro)\//.test(l));
    const rootList = list(join(work, 'root.tar'));
    expect(rootList.some((l) => l.includes(' 1000/1000 '))).toBe(true);
    expect(list(join(work, 'user-out/user.tar'))).toEqual(rootList);
    expect(await readFile(join(work, 'user-out/user.tar'))).toEqual(await readFile(join(work, 'root.tar')));
  }, 600_000);
});
