import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli, type CliResult } from '../helpers/build-fixture.js';

/**
 * Rootless mode on this machine's kernel: an ordinary user with subordinate ids builds in a user
 * namespace (unshare + newuidmap), mounts overlayfs there with userxattr and runs RUN under
 * runc --rootless; the images are the ones root builds, byte for byte.
 */
const isRoot = process.getuid?.() === 0;
const has = (cmd: string, args: string[], out?: RegExp): boolean => {
  try {
    const text = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out ? out.test(text) : true;
  } catch {
    return false;
  }
};
const skipReason = !isRoot
  ? 'needs root to make the test user and its subordinate ids'
  : !has('newuidmap', ['--help']) && !existsSync('/usr/bin/newuidmap')
    ? 'no newuidmap (Debian: uidmap)'
    : !has('unshare', ['--help'], /--map-users/)
      ? 'unshare cannot map ranges (util-linux < 2.38)'
      : !has('setpriv', ['--version'])
        ? 'no setpriv'
        : undefined;
if (skipReason) console.warn(`rootless tests skipped: ${skipReason}`);

/** An ordinary user with a home and subordinate ids (made if missing). */
const TEST_USER = 'tsbuild-rootless';
let uid = -1;
let gid = -1;
let work = '';
let cliDir = '';
let userState = '';

/** The next free subordinate range after every one the file grants. */
function freeRangeStart(file: string): number {
  let end = 100000;
  for (const line of (existsSync(file) ? readFileSync(file, 'utf8') : '').split('\n')) {
    const [, start, count] = line.split(':');
    if (start && count) end = Math.max(end, Number(start) + Number(count));
  }
  return end;
}

beforeAll(async () => {
  if (skipReason) return;
  if (!has('id', ['-u', TEST_USER])) execFileSync('useradd', ['-m', '-s', '/bin/sh', TEST_USER]);
  const granted = (f: string) => existsSync(f) && new RegExp(`^${TEST_USER}:`, 'm').test(readFileSync(f, 'utf8'));
  if (!granted('/etc/subuid')) {
    const s = freeRangeStart('/etc/subuid');
    execFileSync('usermod', ['--add-subuids', `${s}-${s + 65535}`, TEST_USER]);
  }
  if (!granted('/etc/subgid')) {
    const s = freeRangeStart('/etc/subgid');
    execFileSync('usermod', ['--add-subgids', `${s}-${s + 65535}`, TEST_USER]);
  }
  uid = Number(execFileSync('id', ['-u', TEST_USER], { encoding: 'utf8' }));
  gid = Number(execFileSync('id', ['-g', TEST_USER], { encoding: 'utf8' }));
  // the checkout may sit below a directory only root may enter: the CLI and the fixtures are
  // copied where the user can read them (timestamps kept: the launcher takes a current bundle only)
  work = await mkdtemp(join(tmpdir(), 'tsbuild-rootless-'));
  cliDir = join(work, 'cli');
  for (const part of ['bin', 'dist', 'package.json'])
    await cp(join(REPO_ROOT, part), join(cliDir, part), { recursive: true, preserveTimestamps: true });
  await cp(join(REPO_ROOT, 'fixtures/demo'), join(work, 'fx/demo'), { recursive: true });
  await cp(join(REPO_ROOT, 'fixtures/base'), join(work, 'fx/base'), { recursive: true });
  await mkdir(join(work, 'fx/ids'));
  await writeFile(
    join(work, 'fx/ids/Dockerfile'),
    [
      'FROM oci-layout://../base/busybox',
      // owners, a whiteout, an opaque dir, a file of the base removed: all must land in layers as root writes them
      'RUN id -u > /uid0 && mkdir -p /d/sub && echo a > /d/sub/f && touch /d/g && chown 1234:4321 /d/g',
      'RUN rm /d/g && rm -rf /d/sub && mkdir /d/sub && echo b > /d/sub/h && rm -f /bin/zcat',
      'USER 1000:1000',
      'RUN echo "uid=$(id -u) gid=$(id -g)" > /tmp/ids',
      'USER root',
      'RUN --network=none cat /tmp/ids && echo "root=$(cat /uid0)"',
      '',
    ].join('\n'),
  );
  execFileSync('chmod', ['-R', 'a+rX', work]);
  userState = join(work, 'user-state');
  await mkdir(userState);
  await chown(userState, uid, gid);
  await chmod(userState, 0o700);
  await mkdir(join(work, 'user-out'));
  await chown(join(work, 'user-out'), uid, gid);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const EPOCH = { SOURCE_DATE_EPOCH: '1700000000' };

/** A build of fixture `name` (in work/fx) as root (its own state dir) or as the test user. */
async function build(
  name: string,
  as: 'root' | 'user',
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<CliResult & { digests: string[] }> {
  const meta = join(work, as === 'user' ? 'user-out' : '', `meta-${name}-${as}.json`);
  const args = ['build', '--progress=plain', '--allow', `fs.read=${join(work, 'fx/base')}`, '--metadata-file', meta];
  const res = await runCli([...args, ...extra, name], {
    cwd: join(work, 'fx'),
    launcher: join(cliDir, 'bin/tsbuild'),
    ...(as === 'root'
      ? { env: { ...EPOCH, ...env, TSBUILD_ROOT: join(work, 'root-state'), TSBUILD_RUNTIME_DIR: undefined } }
      : {
          wrapper: ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--init-groups'],
          env: {
            ...EPOCH,
            ...env,
            HOME: join(work, 'nohome'),
            TSBUILD_ROOT: userState,
            TSBUILD_RUNTIME_DIR: undefined,
            XDG_RUNTIME_DIR: undefined,
          },
        }),
  });
  if (res.exitCode !== 0) return { ...res, digests: [] };
  const m = JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>;
  return { ...res, digests: [m['containerimage.config.digest']!, m['containerimage.digest']!] };
}

describe.skipIf(skipReason !== undefined)('rootless mode', () => {
  it('builds fixtures/demo as an ordinary user: the same config and manifest digests as root', async () => {
    const root = await build('demo', 'root');
    expect(root.exitCode, root.stderr).toBe(0);
    const user = await build('demo', 'user');
    expect(user.exitCode, user.stderr).toBe(0);
    expect(user.stderr.split('\n')[0]).toMatch(
      new RegExp(
        `^rootless: user namespace maps uid ${uid} to 0 and \\d+…\\d+ to 1…\\d+; RUN steps have seccomp and a pids limit of 4096 per user \\(RLIMIT_NPROC\\), no cgroup: no memory or CPU limits$`,
      ),
    );
    expect(user.digests).toEqual(root.digests);
    expect(root.stderr).not.toMatch(/^rootless:/m);
  }, 180_000);

  it('RUN runs as root of the namespace and as the USER; owners, whiteouts and opaque dirs as root builds them', async () => {
    const root = await build('ids', 'root');
    expect(root.exitCode, root.stderr).toBe(0);
    const user = await build('ids', 'user');
    expect(user.exitCode, user.stderr).toBe(0);
    for (const res of [root, user]) {
      expect(res.stderr).toMatch(/ uid=1000 gid=1000\n/);
      expect(res.stderr).toMatch(/ root=0\n/);
    }
    // runc's own warnings (no cgroup to read OOM kills from) stay out of the step's output
    expect(user.stderr).not.toMatch(/level=warning/);
    expect(user.digests).toEqual(root.digests);
  }, 180_000);

  it("RUN has the seccomp filter and root's capabilities, and reaches the host's network", async () => {
    const server = createServer((_req, res) => res.end('served-from-host\n'));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const port = (server.address() as AddressInfo).port;
    try {
      await mkdir(join(work, 'fx/net'), { recursive: true });
      await writeFile(
        join(work, 'fx/net/Dockerfile'),
        `FROM oci-layout://../base/busybox\nRUN grep -E '^(Seccomp|CapEff):' /proc/self/status && wget -q -O- http://127.0.0.1:${port}/\n`,
      );
      execFileSync('chmod', ['-R', 'a+rX', join(work, 'fx/net')]);
      const root = await build('net', 'root');
      const user = await build('net', 'user');
      expect(user.exitCode, user.stderr).toBe(0);
      expect(user.stderr).toMatch(/ Seccomp:\t2\n/);
      expect(user.stderr).toMatch(/ served-from-host\n/);
      const caps = (r: CliResult) => /CapEff:\t([0-9a-f]+)/.exec(r.stderr)?.[1];
      expect(caps(user)).toBe(caps(root));
    } finally {
      server.close();
    }
  }, 120_000);

  it('the seccomp profile holds: a RUN calling unshare(CLONE_NEWUSER) gets EPERM, as in root builds', async () => {
    // root of a user namespace may make a nested one, so only the profile (unshare needs
    // CAP_SYS_ADMIN there) stops it
    await mkdir(join(work, 'fx/seccomp'), { recursive: true });
    await writeFile(join(work, 'fx/seccomp/Dockerfile'), 'FROM oci-layout://../base/busybox\nRUN unshare -U true\n');
    execFileSync('chmod', ['-R', 'a+rX', join(work, 'fx/seccomp')]);
    for (const as of ['root', 'user'] as const) {
      const res = await build('seccomp', as);
      expect(res.exitCode, `${as}: ${res.stderr}`).toBe(1);
      expect(res.stderr, as).toMatch(/unshare: unshare\(0x10000000\): Operation not permitted/);
    }
  }, 120_000);

  it('a fork bomb fails its step by the pids limit (RLIMIT_NPROC) and leaves no process behind', async () => {
    const marker = String(5000 + (process.pid % 1000));
    await mkdir(join(work, 'fx/bomb'), { recursive: true });
    await writeFile(
      join(work, 'fx/bomb/Dockerfile'),
      `FROM oci-layout://../base/busybox\nRUN while :; do sleep ${marker} & done\n`,
    );
    execFileSync('chmod', ['-R', 'a+rX', join(work, 'fx/bomb')]);
    const res = await build('bomb', 'user', [], { TSBUILD_PIDS_LIMIT: '200' });
    expect(res.exitCode, res.stderr).toBe(1);
    expect(res.stderr.split('\n')[0]).toMatch(/a pids limit of 200 per user \(RLIMIT_NPROC\)/);
    expect(res.stderr).toMatch(/limit of 200 processes and threads of one user \(RLIMIT_NPROC/);
    expect(res.stderr).not.toMatch(/internal error/);
    const sleepers = (): number =>
      readdirSync('/proc').filter((pid) => {
        try {
          return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8') === `sleep\0${marker}\0`;
        } catch {
          return false;
        }
      }).length;
    for (let i = 0; i < 50 && sleepers() > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(sleepers()).toBe(0);
    // the state dir is fine: the next build of the user works
    const next = await build('ids', 'user');
    expect(next.exitCode, next.stderr).toBe(0);
  }, 120_000);

  it('a build whose outer process is killed outright is cancelled inside the namespace too', async () => {
    await mkdir(join(work, 'fx/slow'), { recursive: true });
    await writeFile(join(work, 'fx/slow/Dockerfile'), 'FROM oci-layout://../base/busybox\nRUN sleep 60\n');
    execFileSync('chmod', ['-R', 'a+rX', join(work, 'fx/slow')]);
    // setpriv and the launcher exec: the child is the outer tsbuild itself
    const cli = [
      join(cliDir, 'bin/tsbuild'),
      'build',
      '--progress=plain',
      '--allow',
      `fs.read=${join(work, 'fx/base')}`,
    ];
    const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', ...cli, 'slow'], {
      cwd: join(work, 'fx'),
      env: {
        ...process.env,
        TSBUILD_ROOT: userState,
        HOME: join(work, 'nohome'),
        TSBUILD_RUNTIME_DIR: undefined,
        XDG_RUNTIME_DIR: undefined,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const runningSleep = () => has('pgrep', ['-u', String(uid), '-x', 'sleep']);
    for (let i = 0; i < 150 && !runningSleep(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(runningSleep(), err).toBe(true);
    child.kill('SIGKILL');
    let gone = false;
    for (let i = 0; i < 150 && !gone; i++) {
      await new Promise((r) => setTimeout(r, 100));
      gone = !has('pgrep', ['-u', String(uid)]);
    }
    const left = gone
      ? ''
      : execFileSync('ps', ['-o', 'pid,ppid,etime,stat,args', '-u', String(uid)], { encoding: 'utf8' });
    expect(gone, `${err}\nstill running as ${uid}:\n${left}`).toBe(true);
  }, 60_000);

  it('refuses cgroup limits it cannot set, naming them', async () => {
    const user = await build('ids', 'user', ['--memory', '64m', '--no-cache']);
    expect(user.exitCode).toBe(1);
    expect(user.stderr).toMatch(/rootless mode cannot limit RUN steps \(--memory, --cpus/);
    expect(user.stderr).not.toMatch(/internal error/);
  }, 120_000);

  it('run, rmi and prune re-enter the namespace: they reach files the subordinate ids own', async () => {
    const asUser = (args: string[]) =>
      runCli(args, {
        cwd: join(work, 'fx'),
        launcher: join(cliDir, 'bin/tsbuild'),
        wrapper: ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--init-groups'],
        env: {
          HOME: join(work, 'nohome'),
          TSBUILD_ROOT: userState,
          TSBUILD_RUNTIME_DIR: undefined,
          XDG_RUNTIME_DIR: undefined,
        },
      });
    const built = await build('demo', 'user', ['-t', 'demo:rootless']);
    expect(built.exitCode, built.stderr).toBe(0);
    const ran = await asUser(['run', '--rm', 'demo:rootless', 'there']);
    expect(ran.exitCode, ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/hi, there! .*running as app in \/app/);
    expect((await asUser(['rmi', 'demo:rootless'])).exitCode).toBe(0);
    // the layer dirs hold files of image owners (host: subordinate ids) the user itself cannot unlink
    const pruned = await asUser(['prune', '--all']);
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    expect(pruned.stdout + pruned.stderr).toMatch(/removed [1-9]\d* layer snapshots/);
  }, 180_000);

  it('--isolation rootless is refused for root', async () => {
    const root = await build('ids', 'root', ['--isolation', 'rootless']);
    expect(root.exitCode).toBe(2);
    expect(root.stderr).toMatch(/--isolation rootless is for a user other than root/);
  });
});
