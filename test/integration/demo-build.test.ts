import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runBundle, runCli, unpackArchive, type UnpackedImage } from '../helpers/build-fixture.js';

const run = promisify(execFile);

/** The README demo, end to end: multi-stage build → OCI archive → skopeo/umoci → runc. */
describe('fixtures/demo', () => {
  let dir: string;
  let state: string;
  let image: UnpackedImage;
  let first: Awaited<ReturnType<typeof runCli>>;
  const archive = (n: number): string => join(dir, `demo-${n}.tar`);
  const build = (n: number, extra: string[] = []) =>
    runCli(
      [
        '-t',
        'demo:1.0',
        '--build-arg',
        'GREETING=hello',
        '--progress=plain',
        '-o',
        `type=oci,dest=${archive(n)}`,
        ...extra,
        'fixtures/demo',
      ],
      {
        env: { TSBUILD_ROOT: state },
      },
    );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-demo-'));
    state = join(dir, 'state');
    first = await build(1);
    if (first.exitCode !== 0) throw new Error(first.stderr);
    image = await unpackArchive(archive(1), join(dir, 'unpacked'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('builds and skopeo reads the archive', async () => {
    const { stdout } = await run('skopeo', ['inspect', `oci-archive:${archive(1)}`]);
    const info = JSON.parse(stdout) as { Layers: string[]; Architecture: string; Os: string };
    expect(info.Os).toBe('linux');
    // base + WORKDIR /app + COPY
    expect(info.Layers).toHaveLength(3);
  });

  it('keeps the config BuildKit would write', () => {
    const c = image.config.config as Record<string, unknown>;
    expect(c.Entrypoint).toEqual(['/app/bin/greet']);
    expect(c.Cmd).toEqual(['world']);
    expect(c.User).toBe('app');
    expect(c.WorkingDir).toBe('/app');
    expect(c.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'APP_HOME=/app']);
    expect(c.Labels).toEqual({ 'org.opencontainers.image.title': 'tsbuild demo' });
    const history = image.config.history ?? [];
    expect(history.filter((h) => !h.empty_layer)).toHaveLength(3);
    expect(history.at(-1)?.created_by).toBe('CMD ["world"]');
  });

  it('has the files with the owners and modes COPY --chown and RUN gave them', async () => {
    expect(await image.stat('/app/bin/greet')).toMatchObject({ type: 'file', mode: 0o755, uid: 1000, gid: 1000 });
    // WORKDIR creates /app as root; COPY --chown creates the missing /app/bin for the new owner
    expect(await image.stat('/app')).toMatchObject({ type: 'dir', mode: 0o755, uid: 0, gid: 0 });
    expect(await image.stat('/app/bin')).toMatchObject({ type: 'dir', mode: 0o755, uid: 1000, gid: 1000 });
    expect(await image.read('/app/bin/greet')).toContain('echo "hello, ${1:-nobody}! (demo 1.0.0,');
    // the build stage's files stay in the build stage
    expect(await image.exists('/src')).toBe(false);
  });

  it('runs under runc with its own entrypoint, cmd, user and workdir', async () => {
    const res = await runBundle(image.bundle);
    expect(res.output.trim()).toBe('hello, world! (demo 1.0.0, running as app in /app)');
    expect(res.exitCode).toBe(0);
  });

  it('rebuilds from cache with the same digest, running nothing', async () => {
    const second = await build(2);
    expect(second.exitCode).toBe(0);
    expect(second.stderr).not.toMatch(/#\d+ running:/);
    expect(second.stderr).toMatch(/CACHED/);
    // the base image is listed first, CACHED, as BuildKit lists it
    expect(second.stderr).toMatch(/#(\d+) \[build 1\/4\] FROM oci-layout:\/\/\S+@sha256:[a-f0-9]{64}\n#\1 CACHED/);
    const digest = (s: string) => /image (sha256:[a-f0-9]{64})/.exec(s)?.[1];
    expect(digest(second.stderr)).toBe(digest(first.stderr));
    const a = await run('skopeo', ['inspect', '--format', '{{.Digest}}', `oci-archive:${archive(1)}`]);
    const b = await run('skopeo', ['inspect', '--format', '{{.Digest}}', `oci-archive:${archive(2)}`]);
    expect(b.stdout).toBe(a.stdout);
  });

  it('re-runs only what a changed build arg reaches', async () => {
    const third = await build(3, ['--build-arg', 'GREETING=bonjour']);
    expect(third.exitCode).toBe(0);
    // the RUN that uses GREETING re-runs; WORKDIR and COPY of the context stay cached
    expect(third.stderr).toMatch(/\[build 4\/4\] RUN sed[^\n]*\n#\d+ running/);
    expect(third.stderr).toMatch(/\[build 2\/4\] WORKDIR \/src\n#\d+ CACHED/);
    const img = await unpackArchive(archive(3), join(dir, 'unpacked-3'));
    expect((await runBundle(img.bundle)).output).toContain('bonjour, world!');
  });

  it('keeps an unchanged copy of the fixture reusable from another directory', async () => {
    const copy = join(dir, 'demo-copy');
    await cp(join(REPO_ROOT, 'fixtures/demo'), copy, { recursive: true });
    await cp(join(REPO_ROOT, 'fixtures/base'), join(dir, 'base'), { recursive: true });
    // its base, ../base/busybox, is outside the context: granted as for fixtures/base
    const res = await runCli(
      [
        '-t',
        'demo:1.0',
        '--build-arg',
        'GREETING=hello',
        '--progress=plain',
        '--allow',
        `fs.read=${join(dir, 'base')}`,
        '-o',
        `type=oci,dest=${archive(4)}`,
        copy,
      ],
      { env: { TSBUILD_ROOT: state } },
    );
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stderr).not.toMatch(/#\d+ running:/);
  });
});
