/**
 * BuildKit's run-mount tests (frontend/dockerfile/dockerfile_mount_test.go, dockerfile_secrets_test.go,
 * dockerfile_ssh_test.go), ported to our CLI: each `it` is named after the Go test it ports.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { df, rig, type Rig } from './behaviours-rig.js';

const rigs: Rig[] = [];
afterAll(async () => {
  for (const r of rigs) await r.cleanup();
});

/** One build of `dockerfile` to a local dir (kept until the file's tests end). */
async function builds(dockerfile: string, files: Record<string, string> = {}, args: string[] = []) {
  const r = await rig({ Dockerfile: df(dockerfile), ...files });
  rigs.push(r);
  return r.local(args);
}

/** The host's ssh-add, its dynamic loader and shared libraries (from ldd); none without ssh-agent and ssh-add. */
function sshAddLibs(): { binary: string; loader: string; libs: string[] } | undefined {
  try {
    execFileSync('ssh-agent', ['-h'], { stdio: 'ignore' });
  } catch (err) {
    // ssh-agent -h prints its usage and exits non-zero: only a missing program is a reason to skip
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  }
  try {
    const binary = execFileSync('sh', ['-c', 'command -v ssh-add'], { encoding: 'utf8' }).trim();
    const ldd = execFileSync('ldd', [binary], { encoding: 'utf8' });
    const libs = [...ldd.matchAll(/=> (\/\S+)/g)].map((m) => m[1]!);
    const loader = ldd.match(/^\s*(\/\S*ld-linux\S*)/m)?.[1];
    return binary && loader ? { binary, loader, libs } : undefined;
  } catch {
    return undefined;
  }
}

describe('BuildKit run mounts', () => {
  it('testMountContext', async () => {
    const res = await builds(
      'FROM busybox\nRUN --mount=target=/context [ "$(cat /context/testfile)" == "contents0" ]',
      { testfile: 'contents0' },
    );
    expect(res.exitCode, res.stderr).toBe(0);
  });

  it('testMountTmpfs', async () => {
    const res = await builds(
      'FROM busybox\nRUN --mount=target=/mytmp,type=tmpfs touch /mytmp/foo\nRUN [ ! -f /mytmp/foo ]',
    );
    expect(res.exitCode, res.stderr).toBe(0);
  });

  it('testMountInvalid', async () => {
    let res = await builds('FROM scratch\nRUN --mont=target=/mytmp,type=tmpfs /bin/true');
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toMatch(/unknown flag: --mont/);
    expect(res.stderr).toMatch(/did you mean (--)?mount\?/);
    res = await builds('FROM scratch\nRUN --mount=typ=tmpfs /bin/true');
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain("unexpected key 'typ'");
    expect(res.stderr).toMatch(/did you mean type\?/);
    res = await builds('FROM scratch\nRUN --mount=type=tmp /bin/true');
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain('unsupported mount type "tmp"');
    expect(res.stderr).toMatch(/did you mean (type=)?tmpfs\?/);
  });

  // a step whose key misses is looked up again by the content of what it mounts from other stages
  it('testMountRWCache', async () => {
    const r = await rig({
      Dockerfile: df(`
FROM busybox AS build
COPY cachebust /
RUN mkdir out && echo foo > out/foo
FROM busybox AS second
RUN --mount=from=build,src=out,target=/out,rw touch /out/bar && cat /dev/urandom | head -c 100 | sha256sum > /unique
FROM scratch
COPY --from=second /unique /unique`),
      cachebust: '0',
    });
    try {
      const first = await r.local();
      expect(first.exitCode, first.stderr).toBe(0);
      const second = await r.local([], { files: { cachebust: '1' } });
      expect(second.exitCode, second.stderr).toBe(0);
      expect(await second.read('unique')).toBe(await first.read('unique'));
    } finally {
      await r.cleanup();
    }
  });

  it('testCacheMountUser', async () => {
    const res = await builds(
      'FROM busybox\nRUN --mount=type=cache,target=/mycache,uid=1001,gid=1002,mode=0751 [ "$(stat -c "%u %g %f" /mycache)" == "1001 1002 41e9" ]',
    );
    expect(res.exitCode, res.stderr).toBe(0);
  });

  it('testCacheMountDefaultID', async () => {
    const res = await builds(`
FROM busybox
RUN --mount=type=cache,target=/mycache touch /mycache/foo
RUN --mount=type=cache,target=/mycache2 [ ! -f /mycache2/foo ]
RUN --mount=type=cache,target=/mycache [ -f /mycache/foo ]`);
    expect(res.exitCode, res.stderr).toBe(0);
  });

  it('testMountEnvVar', async () => {
    const res = await builds(`
FROM busybox
ENV SOME_PATH=/mycache
RUN --mount=type=cache,target=/mycache touch /mycache/foo
RUN --mount=type=cache,target=$SOME_PATH [ -f $SOME_PATH/foo ]`);
    expect(res.exitCode, res.stderr).toBe(0);
  });

  it('testMountArg', async () => {
    const res = await builds(`
FROM busybox
ARG MNT_TYPE=cache
RUN --mount=type=$MNT_TYPE,target=/mycache2 touch /mycache2/foo
RUN --mount=type=cache,target=/mycache2 [ -f /mycache2/foo ]`);
    expect(res.exitCode, res.stderr).toBe(0);
  });

  it('testMountEnvAcrossStages', async () => {
    const res = await builds(`
FROM busybox as stage1
ENV MNT_ID=mycache
ENV MNT_TYPE2=cache
RUN --mount=type=cache,id=mycache,target=/abcabc touch /abcabc/foo
RUN --mount=type=$MNT_TYPE2,id=$MNT_ID,target=/cbacba [ -f /cbacba/foo ]
FROM stage1
RUN --mount=type=$MNT_TYPE2,id=$MNT_ID,target=/whatever [ -f /whatever/foo ]`);
    expect(res.exitCode, res.stderr).toBe(0);
  });

  it('testMountMetaArg', async () => {
    const res = await builds(`
ARG META_PATH=/tmp/meta
FROM busybox
ARG META_PATH
RUN --mount=type=cache,id=mycache,target=/tmp/meta touch /tmp/meta/foo
RUN --mount=type=cache,id=mycache,target=$META_PATH [ -f /tmp/meta/foo ]`);
    expect(res.exitCode, res.stderr).toBe(0);
  });

  it('testMountFromError', async () => {
    const res = await builds(`
FROM busybox as test
RUN touch /tmp/test
FROM busybox
ENV ttt=test
RUN --mount=from=$ttt,type=cache,target=/tmp ls`);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain("'from' doesn't support variable expansion, define alias stage instead");
    expect(res.stderr).toMatch(/Dockerfile:5/);
  });

  it('testMountTmpfsSize', async () => {
    const res = await builds(`
FROM busybox AS base
RUN --mount=type=tmpfs,target=/dev/shm,size=128m mount | grep /dev/shm > /tmpfssize
FROM scratch
COPY --from=base /tmpfssize /`);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('tmpfssize')).toContain('size=131072k');
  });

  it('testMountDuplicate', async () => {
    const r = await rig({
      Dockerfile: df(`
FROM busybox AS base
RUN --mount=source=.,target=/tmp/test \\
  --mount=source=b.txt,target=/tmp/b.txt \\
  cat /tmp/test/a.txt /tmp/b.txt > /combined.txt
FROM scratch
COPY --from=base /combined.txt /`),
      'a.txt': 'foo\n',
      'b.txt': 'bar\n',
    });
    try {
      const first = await r.local();
      expect(first.exitCode, first.stderr).toBe(0);
      expect(await first.read('combined.txt')).toBe('foo\nbar\n');
      const second = await r.local([], { files: { 'a.txt': 'updated\n' } });
      expect(second.exitCode, second.stderr).toBe(0);
      expect(await second.read('combined.txt')).toBe('updated\nbar\n');
    } finally {
      await r.cleanup();
    }
  });

  it('testCacheMountParallel (nested cache mounts in two stages, 3 rounds instead of 20)', async () => {
    const r = await rig({
      Dockerfile: df(`
FROM busybox AS b1
RUN --mount=type=cache,target=/foo/bar --mount=type=cache,target=/foo/bar/baz echo 1
FROM busybox AS b2
RUN --mount=type=cache,target=/foo/bar --mount=type=cache,target=/foo/bar/baz echo 2
FROM scratch
COPY --from=b1 /etc/passwd p1
COPY --from=b2 /etc/passwd p2`),
    });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await r.local(['--no-cache']);
        expect(res.exitCode, res.stderr).toBe(0);
      }
    } finally {
      await r.cleanup();
    }
  });

  it('testCacheMountSourceEscape', async () => {
    const res = await builds(
      `
FROM busybox AS init
RUN --mount=type=cache,id=sourceescape,target=/cache mkdir -p /cache/sel && echo benign > /cache/sel/benign.txt
FROM init AS link
RUN --mount=type=cache,id=sourceescape,target=/cache rm -rf /cache/sel && ln -s /etc /cache/sel
FROM link AS victim
RUN --mount=type=cache,id=sourceescape,source=sel,target=/victim cat /victim/hostname
FROM scratch
COPY --from=victim /etc/hostname /hostname`,
      {},
      ['--no-cache'],
    );
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toMatch(/mount source subpath "sel" resolves to "\/etc" which escapes the mount root/);
  });

  it("cache mount from=STAGE,source=PATH starts as that stage's directory (docs: RUN --mount=type=cache)", async () => {
    const res = await builds(`
FROM busybox AS seed
RUN mkdir -p /deps && echo seeded > /deps/a
FROM busybox AS use
RUN --mount=type=cache,id=seeded,from=seed,source=/deps,target=/c cat /c/a > /out && echo more > /c/b
RUN --mount=type=cache,id=seeded,from=seed,source=/deps,target=/c cat /c/b >> /out
RUN --mount=type=cache,id=plain,source=sub,target=/p echo x > /p/x
RUN --mount=type=cache,id=plain,target=/p cat /p/sub/x >> /out
FROM scratch
COPY --from=use /out /`);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('out')).toBe('seeded\nmore\nx\n');
  });

  it('a relative mount target is under the WORKDIR (dispatchRunMounts)', async () => {
    const res = await builds(`
FROM busybox AS b
WORKDIR /work
RUN --mount=type=tmpfs,target=rel mount | grep -q ' /work/rel ' && echo ok > /ok
FROM scratch
COPY --from=b /ok /`);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('ok')).toBe('ok\n');
  });
});

describe('BuildKit secrets and ssh', () => {
  it('testSecretFileParams', async () => {
    const r = await rig({
      Dockerfile: df(`
FROM busybox
RUN --mount=type=secret,required=false,mode=741,uid=100,gid=102,target=/mysecret [ "$(stat -c "%u %g %f" /mysecret)" = "100 102 81e1" ]
RUN [ ! -f /mysecret ] # check no stub left behind`),
      s: 'pw',
    });
    try {
      const res = await r.local(['--secret', `id=mysecret,src=${join(r.fx.context, 's')}`]);
      expect(res.exitCode, res.stderr).toBe(0);
    } finally {
      await r.cleanup();
    }
  });

  it('testSecretRequiredWithoutValue', async () => {
    const res = await builds('FROM busybox\nRUN --mount=type=secret,required,id=mysecret foo');
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain('secret mysecret: not found');
  });

  it('testSecretAsEnviron', async () => {
    const r = await rig({
      Dockerfile: df(`
FROM busybox
ENV SECRET_ENV=foo
RUN --mount=type=secret,id=mysecret,env=SECRET_ENV [ "$SECRET_ENV" == "pw" ] && [ ! -f /run/secrets/mysecret ] || false`),
    });
    try {
      const res = await r.local(['--secret', 'id=mysecret,env=MY_PW'], { env: { MY_PW: 'pw' } });
      expect(res.exitCode, res.stderr).toBe(0);
    } finally {
      await r.cleanup();
    }
  });

  it('testSecretAsEnvironWithFileMount', async () => {
    const r = await rig({
      Dockerfile: df(`
FROM busybox
RUN --mount=type=secret,id=mysecret,target=/run/secrets/secret,env=SECRET_ENV [ "$SECRET_ENV" == "pw" ] && [ -f /run/secrets/secret ] || false`),
    });
    try {
      const res = await r.local(['--secret', 'id=mysecret,env=MY_PW'], { env: { MY_PW: 'pw' } });
      expect(res.exitCode, res.stderr).toBe(0);
    } finally {
      await r.cleanup();
    }
  });

  it('testSSHSocketParams', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-ssh-'));
    const sock = join(dir, 'agent.sock');
    const agent = createServer((c) => c.end());
    await new Promise<void>((res) => agent.listen(sock, () => res()));
    const r = await rig({
      Dockerfile: df(`
FROM busybox
RUN --mount=type=ssh,mode=741,uid=100,gid=102 [ "$(stat -c "%u %g %f" $SSH_AUTH_SOCK)" = "100 102 c1e1" ]`),
    });
    try {
      const res = await r.local(['--ssh', `default=${sock}`]);
      expect(res.exitCode, res.stderr).toBe(0);
    } finally {
      agent.close();
      await r.cleanup();
      await rm(dir, { recursive: true, force: true });
    }
  });

  // BuildKit's RUN installs openssh-client and runs `ssh -T git@github.com` three times (the internet);
  // here the host's ssh-add (with its shared libraries and loader) is copied into the image and lists
  // the agent's key three times. Each connection the step makes must be closed on the agent's side:
  // ssh-agent -d then serves every one as its socket 1, a leaked one would push the next to 2, 3.
  it('testSSHFileDescriptorsClosed', async (t) => {
    // without ssh-agent and ssh-add on the host (scripts/install-deps.sh installs openssh-client)
    const ssh = sshAddLibs();
    if (!ssh) return t.skip();
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-ssh-'));
    const sock = join(dir, 'ssh-agent.sock');
    const agent = spawn('ssh-agent', ['-s', '-d', '-a', sock], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    agent.stderr.on('data', (b: Buffer) => {
      log += b.toString();
    });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((res) => setTimeout(res, 100));
      expect(existsSync(sock), log).toBe(true);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
      execFileSync('ssh-add', [join(dir, 'key')], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const r = await rig({
        Dockerfile: df(`
FROM busybox
COPY sshbin /sshbin
RUN --mount=type=ssh set -e; for i in 1 2 3; do /sshbin/loader --library-path /sshbin /sshbin/ssh-add -l; sleep 0.2; done`),
      });
      rigs.push(r);
      const bin = join(r.fx.context, 'sshbin');
      await mkdir(bin);
      const { binary, loader, libs } = ssh;
      await copyFile(binary, join(bin, 'ssh-add'));
      await copyFile(loader, join(bin, 'loader'));
      for (const lib of libs) await copyFile(lib, join(bin, basename(lib)));
      const logBefore = log.length;
      const res = await r.local(['--ssh', `default=${sock}`]);
      expect(res.exitCode, res.stderr).toBe(0);
      expect(res.stderr).toContain('ED25519');
      const steps = log.slice(logBefore);
      // the pause between clients stands for BuildKit's `ssh -T git@github.com` (a network round
      // trip each): without it, the next ssh-add could connect before ssh-agent's loop had seen
      // the last one's close (it takes new connections first), and get socket 2 with nothing
      // left open (1 CI run in many, under load). A forwarder that kept a descriptor open would
      // still show socket 2 and 3.
      expect(steps.match(/process_message: socket 1 /g)?.length, steps).toBe(3);
      expect(steps).not.toContain('process_message: socket 2');
      expect(steps).not.toContain('process_message: socket 3');
    } finally {
      agent.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
