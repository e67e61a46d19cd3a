/**
 * BuildKit behaviours tsbuild used to differ on (issue 13), each ported from the Go test that pins
 * it (frontend/dockerfile/*_test.go) where one exists, else from BuildKit's code as cited.
 */
import { execFile } from 'node:child_process';
import { lstat, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { unpackArchive } from '../helpers/build-fixture.js';
import { df, rigsForFile, type Rig } from './behaviours-rig.js';

const run = promisify(execFile);
const open = rigsForFile();
/** Builds to an OCI archive and unpacks it (config and rootfs). */
async function image(r: Rig, args: string[] = []) {
  const archive = join(r.fx.dir, `img-${Math.random().toString(36).slice(2)}.tar`);
  const res = await r.cli(['-t', 'bk:latest', '-o', `type=oci,dest=${archive}`, ...args]);
  if (res.exitCode !== 0) throw new Error(res.stderr);
  return { res, img: await unpackArchive(archive, `${archive}.d`) };
}

describe('BuildKit predefined args and frontend build args', () => {
  it('testTargetStageNameArg', async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox AS base
WORKDIR /out
RUN echo -n "value:$TARGETSTAGE" > /out/first
ARG TARGETSTAGE
RUN echo -n "value:$TARGETSTAGE" > /out/second
FROM scratch AS foo
COPY --from=base /out/ /
FROM scratch
COPY --from=base /out/ /`),
    });
    const foo = await r.local(['--target', 'foo']);
    expect(foo.exitCode, foo.stderr).toBe(0);
    expect(await foo.read('first')).toBe('value:');
    expect(await foo.read('second')).toBe('value:foo');
    const last = await r.local();
    expect(last.exitCode, last.stderr).toBe(0);
    expect(await last.read('second')).toBe('value:default');
  });

  it('testDockerfileCheckHostname (the build-arg case; --hostname is not a flag of ours)', async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox
RUN cat /etc/hosts | grep foo
RUN echo $(hostname) | grep foo`),
    });
    const res = await r.local(['--build-arg', 'BUILDKIT_SANDBOX_HOSTNAME=foo']);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stderr).not.toMatch(/BUILDKIT_SANDBOX_HOSTNAME.*no ARG/);
  });
});

describe('BuildKit SOURCE_DATE_EPOCH from the Dockerfile (Dockerfile 1.23+)', () => {
  const tm = 1445412480; // 2015-10-21T07:28:00Z
  it('testSourceDateEpochDockerfileDefault', async () => {
    const r = await open({ Dockerfile: `ARG SOURCE_DATE_EPOCH=${tm}\nFROM scratch\nCOPY Dockerfile .\n` });
    const { img } = await image(r);
    expect(img.config.created).toBe('2015-10-21T07:28:00Z');
    expect((await stat(join(img.rootfs, 'Dockerfile'))).mtimeMs / 1000).toBeLessThanOrEqual(tm);
  });

  it('testSourceDateEpochDockerfileDefaultOverride', async () => {
    const r = await open({ Dockerfile: 'ARG SOURCE_DATE_EPOCH=1700000001\nFROM scratch\nCOPY Dockerfile .\n' });
    const { img } = await image(r, ['--build-arg', 'SOURCE_DATE_EPOCH=1700000002']);
    expect(img.config.created).toBe(new Date(1700000002 * 1000).toISOString().replace('.000Z', 'Z'));
  });

  it('testSourceDateEpochDockerfileDefaultInvalid', async () => {
    const r = await open({ Dockerfile: 'ARG SOURCE_DATE_EPOCH=not-a-timestamp\nFROM scratch\nCOPY Dockerfile .\n' });
    const res = await r.cli([]);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain('invalid SOURCE_DATE_EPOCH: not-a-timestamp');
  });

  it('testSourceDateEpochStageInvalid', async () => {
    const r = await open({
      Dockerfile:
        'ARG SOURCE_DATE_EPOCH=mysource\nFROM scratch AS mysource\nCOPY Dockerfile /Dockerfile\nFROM scratch\n',
    });
    const res = await r.cli([]);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain('SOURCE_DATE_EPOCH stage does not meet source-only requirements');
  });

  it('testSourceDateEpochStageOverride (a --build-arg number wins over a stage name, no source is read)', async () => {
    const r = await open({
      Dockerfile:
        'ARG SOURCE_DATE_EPOCH=mysource\nFROM scratch AS mysource\nADD http://127.0.0.1:9/src.tar /\nFROM scratch\nCOPY Dockerfile .\n',
    });
    const { img } = await image(r, ['--build-arg', 'SOURCE_DATE_EPOCH=1700000502']);
    expect(img.config.created).toBe(new Date(1700000502 * 1000).toISOString().replace('.000Z', 'Z'));
  });

  it('testSourceDateEpochContextLocalUnset (`context` of a local directory sets nothing)', async () => {
    const r = await open({ Dockerfile: 'ARG SOURCE_DATE_EPOCH=context\nFROM scratch\nCOPY Dockerfile .\n' });
    const { img } = await image(r);
    expect(Date.parse(img.config.created as string)).toBeGreaterThan(Date.now() - 600_000);
  });

  // a stage's or a remote context's git commit time, http Last-Modified and archive date: test/buildkit/add-git.test.ts
});

describe('BuildKit COPY and context behaviours', () => {
  it('testCopyChmod (octal --chmod also gives its mode to the parents it creates)', async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox AS base
RUN mkdir -m 0777 /out
COPY --chmod=0644 foo /
COPY --chmod=777 bar /baz
COPY --chmod=0 foo /foobis
COPY --chmod=777 foo /parent/foo
COPY --chmod=770 foo /parent/sub/foo
ARG mode
COPY --chmod=\${mode} foo /footer
RUN stat -c "%04a" /foo  > /out/fooperm
RUN stat -c "%04a" /baz  > /out/barperm
RUN stat -c "%04a" /foobis  > /out/foobisperm
RUN stat -c "%04a" /parent  > /out/parentperm
RUN stat -c "%04a" /parent/sub  > /out/subparentperm
RUN stat -c "%04a" /footer  > /out/footerperm
FROM scratch
COPY --from=base /out /`),
      foo: 'foo-contents',
      bar: 'bar-contents',
    });
    const res = await r.local(['--build-arg', 'mode=755']);
    expect(res.exitCode, res.stderr).toBe(0);
    const got = await Promise.all(
      ['fooperm', 'barperm', 'foobisperm', 'parentperm', 'subparentperm', 'footerperm'].map((f) => res.read(f)),
    );
    expect(got).toEqual(['0644\n', '0777\n', '0000\n', '0777\n', '0770\n', '0755\n']);
  });

  it('COPY --link f "" copies into the WORKDIR (an empty destination is ".", convert_copy.go)', async () => {
    const r = await open({ Dockerfile: df('FROM busybox\nWORKDIR /w\nCOPY --link f ""\nCOPY g ""'), f: 'F', g: 'G' });
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('w/f')).toBe('F');
    expect(await res.read('w/g')).toBe('G');
  });

  it('testCopySocket (a socket in the context becomes a regular file)', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\nCOPY . /\n' });
    const server = createServer();
    await new Promise<void>((res) => server.listen(join(r.fx.context, 'socket.sock'), () => res()));
    try {
      const res = await r.local();
      expect(res.exitCode, res.stderr).toBe(0);
      expect((await lstat(join(res.out, 'socket.sock'))).isFile()).toBe(true);
    } finally {
      server.close();
    }
  });

  it('testDockerfileLowercase (a context holding only `dockerfile`)', async () => {
    const r = await open({ dockerfile: 'FROM scratch\nCOPY dockerfile /\n' });
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('dockerfile')).toContain('FROM scratch');
  });

  it('testSymlinkDestination (COPY through a symlink an archive made, ../tmp/x, lands inside the rootfs)', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\nADD t.tar /\nCOPY foo /symlink/\n', foo: 'content0' });
    const stage = join(r.fx.dir, 'tar-src');
    await mkdir(stage);
    await symlink('../tmp/symlink-target', join(stage, 'symlink'));
    await run('tar', ['-cf', join(r.fx.context, 't.tar'), '-C', stage, 'symlink']);
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('tmp/symlink-target/foo')).toBe('content0');
  });

  it('testOutOfOrderStage (COPY --from a later stage is an error)', async () => {
    for (const src of ['/', '/d2']) {
      const r = await open({
        Dockerfile: df(`
FROM busybox AS target
COPY --from=build ${src} /out
FROM busybox AS build
COPY /Dockerfile /d2
FROM target`),
      });
      const res = await r.cli([]);
      expect(res.exitCode).toBe(1);
      expect(res.stderr).toContain('cannot copy from stage');
      expect(res.stderr).toContain('needs to be defined before current stage');
    }
  });
});

describe('BuildKit image config and history', () => {
  it('testDockerfileScratchConfig: FROM scratch has WorkingDir "/" (dockerfile2llb/image.go emptyImage)', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\nENV foo=bar\n' });
    const { img } = await image(r);
    expect(img.config.config.WorkingDir).toBe('/');
  });

  it('testExportedHistory (its EXPOSE entry): history reads `EXPOSE [1234/udp 2375/tcp 5000/tcp]`', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\nEXPOSE 2375 5000 1234/udp\n' });
    const { img } = await image(r);
    expect(img.config.history?.at(-1)?.created_by).toBe('EXPOSE [1234/udp 2375/tcp 5000/tcp]');
  });
});

describe('BuildKit RUN environment', () => {
  // One difference kept on purpose: without USER, BuildKit lists the groups /etc/group gives root
  // (`groups=0(root),10(wheel)` here); tsbuild lists gid 0 only, as looking root up cost every RUN
  // a getfattr (src/executor/user.ts).
  it('testUserAdditionalGids (CVE-2023-25173: the primary gid is listed; no USER is root, gid 0)', async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox
SHELL ["/bin/sh", "-euxc"]
RUN echo 'wheel:x:10:root' >> /etc/group && echo 'daemon:x:1:' >> /etc/group && echo 'daemon:x:1:1:daemon:/:/bin/false' >> /etc/passwd
RUN [ "$(id)" = "uid=0(root) gid=0(root) groups=0(root)" ]
USER 1234
RUN [ "$(id)" = "uid=1234 gid=0(root) groups=0(root)" ]
USER 1234:1234
RUN [ "$(id)" = "uid=1234 gid=1234 groups=1234" ]
USER daemon
RUN [ "$(id)" = "uid=1(daemon) gid=1(daemon) groups=1(daemon)" ]`),
    });
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
  });

  it('proxy build args reach RUN in both cases (proxyEnvList) and stay out of the image and the key', async () => {
    const r = await open({ Dockerfile: df('FROM busybox\nRUN env | grep -i _proxy | sort > /p') });
    const res = await r.local(['--build-arg', 'http_proxy=http://p:1', '--build-arg', 'NO_PROXY=x']);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('p')).toBe('HTTP_PROXY=http://p:1\nNO_PROXY=x\nhttp_proxy=http://p:1\nno_proxy=x\n');
    const again = await r.local(['--build-arg', 'http_proxy=http://other:2']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await again.read('p')).toBe(await res.read('p'));
  });

  it('--no-cache starts cache mounts empty (moby/buildkit#2447), shared again within the build', async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox
RUN --mount=type=cache,target=/c ls /c > /before && touch /c/x
RUN --mount=type=cache,target=/c ls /c > /after`),
    });
    const first = await r.local();
    expect(first.exitCode, first.stderr).toBe(0);
    await writeFile(join(r.fx.context, 'bust'), '1');
    const fresh = await r.local(['--no-cache']);
    expect(fresh.exitCode, fresh.stderr).toBe(0);
    expect(await fresh.read('before')).toBe('');
    expect(await fresh.read('after')).toBe('x\n');
  });
});

describe('BuildKit progress', () => {
  it('testStepNames (stage steps numbered as BuildKit does)', async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox AS base
WORKDIR /out
RUN echo "base" > base
FROM scratch
COPY --from=base --chmod=0644 /out /out`),
    });
    const res = await r.cli([]);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stderr).toContain('[base 3/3] RUN echo "base" > base');
    expect(res.stderr).toContain('[stage-1 1/1] COPY --from=base --chmod=0644 /out /out');
  });

  it('the loads BuildKit shows first, with their sizes, and the base image as "[base 1/3] FROM REF@sha256:…"', async () => {
    const r = await open({
      'Dockerfile.app': df(`
FROM busybox AS base
COPY a.txt /a.txt
RUN cat /a.txt
FROM base
RUN true`),
      '.dockerignore': '*.tmp\n',
      'a.txt': 'hello\n',
      'big.tmp': 'x'.repeat(5000),
    });
    const res = await r.cli(['-f', join(r.fx.context, 'Dockerfile.app')]);
    expect(res.exitCode, res.stderr).toBe(0);
    const lines = res.stderr.split('\n');
    const at = (line: string) => lines.findIndex((l) => new RegExp(`^#\\d+ ${line}$`).test(l));
    const def = at('\\[internal\\] load build definition from Dockerfile\\.app');
    expect(def).toBe(0);
    const size = Buffer.byteLength(await readFile(join(r.fx.context, 'Dockerfile.app')));
    expect(lines[def + 1]).toBe(`#1 transferring dockerfile: ${size}B done`);
    expect(lines[def + 2]).toMatch(/^#1 DONE /);
    expect(lines.slice(3, 6).join('\n')).toMatch(
      /^#2 \[internal\] load \.dockerignore\n#2 transferring context: 6B done\n#2 DONE /,
    );
    // only the file COPY selects moves (not the ignored one, nor the Dockerfile)
    const ctx = at('\\[internal\\] load build context');
    expect(ctx).toBeGreaterThan(0);
    const n = /^#(\d+) /.exec(lines[ctx]!)![1];
    expect(lines.slice(ctx)).toContain(`#${n} transferring context: 6B done`);
    expect(res.stderr).toMatch(/^#\d+ \[base 1\/3\] FROM oci-layout:\/\/\S+@sha256:[0-9a-f]{64}$/m);
    expect(res.stderr).not.toContain('[internal] load oci-layout');
    // the JSON progress carries the same names and the transfer as the step's own
    const json = await r.cli(['--progress=rawjson', '-f', join(r.fx.context, 'Dockerfile.app'), '--no-cache']);
    expect(json.exitCode, json.stderr).toBe(0);
    const events = json.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; vertex?: { name: string } | string; name?: string });
    const started = events.flatMap((e) =>
      e.type === 'vertex.start' && typeof e.vertex === 'object' ? [e.vertex.name] : [],
    );
    expect(started.slice(0, 2)).toEqual([
      '[internal] load build definition from Dockerfile.app',
      '[internal] load .dockerignore',
    ]);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'progress', name: 'transferring dockerfile', vertexId: 'load:dockerfile' }),
    );
  });
});
