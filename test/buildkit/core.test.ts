/**
 * BuildKit's frontend/dockerfile/dockerfile_core_test.go (the tests not ported elsewhere), against
 * our CLI. Images the Go tests read back from containerd are read from an OCI archive here.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type FileSpec } from '../helpers/build-fixture.js';
import { df, rig, type Rig } from './behaviours-rig.js';

const run = promisify(execFile);
const rigs: Rig[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const r of rigs) await r.cleanup();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function open(files: Record<string, FileSpec>): Promise<Rig> {
  const r = await rig(files);
  rigs.push(r);
  return r;
}
/** The image config, read straight from the OCI archive's blobs (nothing here needs the rootfs unpacked). */
async function imageConfig(r: Rig) {
  const archive = join(r.fx.dir, `img-${Math.random().toString(36).slice(2)}.tar`);
  const res = await r.cli(['-t', 'bk:latest', '-o', `type=oci,dest=${archive}`]);
  expect(res.exitCode, res.stderr).toBe(0);
  const file = async <T>(path: string): Promise<T> =>
    JSON.parse((await run('tar', ['-xOf', archive, path], { maxBuffer: 1 << 26 })).stdout) as T;
  const blob = <T>(digest: string) => file<T>(`blobs/sha256/${digest.replace('sha256:', '')}`);
  const index = await file<{ manifests: { digest: string }[] }>('index.json');
  const manifest = await blob<{ config: { digest: string } }>(index.manifests[0]!.digest);
  return (await blob<{ config: { ExposedPorts?: Record<string, unknown>; User?: string } }>(manifest.config.digest))
    .config;
}

describe('BuildKit core (dockerfile_core_test.go)', () => {
  it('testDockerfileDirs', async () => {
    const dockerfile = df(`
FROM busybox
COPY foo /foo2
COPY foo /
RUN echo -n bar > foo3
RUN test -f foo
RUN cmp -s foo foo2
RUN cmp -s foo foo3`);
    const r = await open({ Dockerfile: dockerfile, foo: 'bar' });
    const env = { TSBUILD_ROOT: r.fx.stateRoot };
    const abs = await runCli(['--progress=plain', '-f', join(r.fx.context, 'Dockerfile'), r.fx.context], { env });
    expect(abs.exitCode, abs.stderr).toBe(0);
    // relative urls
    const rel = await runCli(['--progress=plain', '-f', 'Dockerfile', '.'], { env, cwd: r.fx.context });
    expect(rel.exitCode, rel.stderr).toBe(0);
    // different context and dockerfile directories
    const dir1 = await mkdtemp(join(tmpdir(), 'tsb-dirs-df-'));
    const dir2 = await mkdtemp(join(tmpdir(), 'tsb-dirs-ctx-'));
    dirs.push(dir1, dir2);
    await writeFile(join(dir1, 'Dockerfile'), dockerfile);
    await writeFile(join(dir2, 'foo'), 'bar');
    const apart = await runCli(
      ['--progress=plain', '-f', join(dir1, 'Dockerfile'), '--allow', `fs.read=${dir1}`, dir2],
      {
        env,
        cwd: r.fx.context,
      },
    );
    expect(apart.exitCode, apart.stderr).toBe(0);
  });

  it('testSymlinkedDockerfile', async () => {
    const r = await open({
      'Dockerfile.web': 'FROM scratch\nENV foo bar\n',
      Dockerfile: { symlink: 'Dockerfile.web' },
    });
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
  });

  it('testContextChangeDirToFile', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\nCOPY foo /\n', 'foo/bar': 'contents' });
    const first = await r.local();
    expect(first.exitCode, first.stderr).toBe(0);
    // the same state dir, the context's foo now a file
    await rm(join(r.fx.context, 'foo'), { recursive: true });
    const second = await r.local([], { files: { foo: 'contents2' } });
    expect(second.exitCode, second.stderr).toBe(0);
    expect(await second.read('foo')).toBe('contents2');
  });

  it('testNoSnapshotLeak', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\nCOPY foo /\n', foo: 'contents' });
    const du = async () => {
      const res = await runCli(['du', '--json'], { env: { TSBUILD_ROOT: r.fx.stateRoot } });
      expect(res.exitCode, res.stderr).toBe(0);
      return (JSON.parse(res.stdout) as { rows: { kind: string; items: number }[] }).rows.map((x) => [x.kind, x.items]);
    };
    expect((await r.local()).exitCode).toBe(0);
    const before = await du();
    expect((await r.local()).exitCode).toBe(0);
    expect(await du()).toEqual(before);
  });

  it('testExposeExpansion (the image read from an OCI archive)', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\nARG PORTS="3000 4000/udp"\nEXPOSE $PORTS\nEXPOSE 5000\n' });
    const config = await imageConfig(r);
    expect(Object.keys(config.ExposedPorts ?? {}).sort()).toEqual(['3000/tcp', '4000/udp', '5000/tcp']);
  });

  it("testUser (Docker's busybox's wheel group and daemon user added: our busybox has neither)", async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox AS base
RUN echo 'wheel:x:10:root' >> /etc/group && echo 'daemon:x:1:1:daemon:/usr/sbin:/bin/false' >> /etc/passwd && echo 'daemon:x:1:' >> /etc/group
RUN mkdir -m 0777 /out
RUN id -un > /out/rootuser

# Make sure our defaults work
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)" = '0:0/root:root' ]

USER root
RUN [ "$(id -G):$(id -Gn)" = '0 10:root wheel' ]

# Setup dockerio user and group
RUN echo 'dockerio:x:1001:1001::/bin:/bin/false' >> /etc/passwd && \\
	echo 'dockerio:x:1001:' >> /etc/group

# Make sure we can switch to our user and all the information is exactly as we expect it to be
USER dockerio
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1001/dockerio:dockerio/1001:dockerio' ]

# Switch back to root and double check that worked exactly as we might expect it to
USER root
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '0:0/root:root/0 10:root wheel' ] && \\
        # Add a "supplementary" group for our dockerio user
	echo 'supplementary:x:1002:dockerio' >> /etc/group

# ... and then go verify that we get it like we expect
USER dockerio
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1001/dockerio:dockerio/1001 1002:dockerio supplementary' ]
USER 1001
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1001/dockerio:dockerio/1001 1002:dockerio supplementary' ]

# super test the new "user:group" syntax
USER dockerio:dockerio
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1001/dockerio:dockerio/1001:dockerio' ]
USER 1001:dockerio
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1001/dockerio:dockerio/1001:dockerio' ]
USER dockerio:1001
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1001/dockerio:dockerio/1001:dockerio' ]
USER 1001:1001
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1001/dockerio:dockerio/1001:dockerio' ]
USER dockerio:supplementary
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1002/dockerio:supplementary/1002:supplementary' ]
USER dockerio:1002
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1002/dockerio:supplementary/1002:supplementary' ]
USER 1001:supplementary
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1002/dockerio:supplementary/1002:supplementary' ]
USER 1001:1002
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1002/dockerio:supplementary/1002:supplementary' ]

# make sure unknown uid/gid still works properly
USER 1042:1043
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1042:1043/1042:1043/1043:1043' ]
USER daemon
RUN id -un > /out/daemonuser
FROM scratch
COPY --from=base /out /
USER nobody`),
    });
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('rootuser')).toBe('root\n');
    expect(await res.read('daemonuser')).toBe('daemon\n');
    expect((await imageConfig(r)).User).toBe('nobody');
  });

  it('testTargetMistype', async () => {
    const r = await open({
      Dockerfile: 'FROM scratch AS build\nCOPY Dockerfile /out\n\nFROM scratch\nCOPY --from=build /out /\n',
    });
    const res = await r.local(['--target', 'bulid']);
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toContain('target stage "bulid" could not be found (did you mean build?)');
  });
});
