import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_LAYOUT, makeFixture, runBundle, type Fixture } from '../helpers/build-fixture.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { dockerdRunning } from '../helpers/dockerd.js';

const run = promisify(execFile);

/** FROM a real registry on 127.0.0.1 (Debian's docker-registry), plain HTTP as docker does for loopback. */
describe('FROM a registry image', () => {
  let reg: TestRegistry;
  let fx: Fixture;

  beforeAll(async () => {
    reg = await startRegistry();
    await reg.push(BASE_LAYOUT, 'latest', 'tsb/busybox:1');
  });
  afterAll(async () => {
    await fx?.cleanup();
    await reg?.stop();
  });

  it('pulls, verifies and builds on it; a cached rebuild reuses the pulled layers', async () => {
    fx = await makeFixture({
      Dockerfile: `FROM ${reg.host}/tsb/busybox:1\nRUN echo pulled > /p.txt\nCMD ["cat", "/p.txt"]\n`,
    });
    const res = await fx.build();
    expect(res.exitCode, res.stderr).toBe(0);
    const img = await fx.unpack();
    expect((await runBundle(img.bundle)).output).toBe('pulled\n');
    const again = await fx.build();
    expect(again.exitCode).toBe(0);
    expect(again.stderr).not.toMatch(/#\d+ running/);
  });

  it('names the reference when the tag does not exist', async () => {
    const bad = await makeFixture({ Dockerfile: `FROM ${reg.host}/tsb/busybox:nope\n` });
    try {
      const res = await bad.build();
      expect(res.exitCode).toBe(1);
      expect(res.stderr).toMatch(/tsb\/busybox:nope/);
      expect(res.stderr).toMatch(/not found/i);
    } finally {
      await bad.cleanup();
    }
  });
});

describe('docker archive output', () => {
  let fx: Fixture;
  afterAll(async () => fx?.cleanup());

  it('writes manifest.json that docker load reads, with the tags', async () => {
    fx = await makeFixture({ Dockerfile: `FROM oci-layout://${BASE_LAYOUT}\nRUN echo d > /d\n` });
    const dest = join(fx.dir, 'docker.tar');
    const res = await fx.build(['-t', 'app:1.0', '-o', `type=docker,dest=${dest}`]);
    expect(res.exitCode, res.stderr).toBe(0);
    await run('mkdir', ['-p', join(fx.dir, 'd')]);
    await run('tar', ['-xf', dest, '-C', join(fx.dir, 'd')]);
    const manifest = JSON.parse(await readFile(join(fx.dir, 'd', 'manifest.json'), 'utf8')) as {
      Config: string;
      RepoTags: string[];
      Layers: string[];
    }[];
    expect(manifest).toHaveLength(1);
    expect(manifest[0]!.RepoTags).toEqual(expect.arrayContaining(['fixture:latest', 'app:1.0']));
    expect(manifest[0]!.Layers).toHaveLength(2);
    // skopeo reads it as a docker archive too
    const { stdout } = await run('skopeo', ['inspect', `docker-archive:${dest}`]);
    expect((JSON.parse(stdout) as { Layers: string[] }).Layers).toHaveLength(2);
  });

  it.skipIf(!dockerdRunning())('loads into dockerd (when one runs here)', async () => {
    const dest = join(fx.dir, 'docker.tar');
    const { stdout } = await run('/usr/bin/docker', ['load', '-i', dest]);
    expect(stdout).toMatch(/Loaded image: app:1.0/);
    const out = await run('/usr/bin/docker', ['run', '--rm', '--network', 'none', 'app:1.0', 'cat', '/d']);
    expect(out.stdout).toBe('d\n');
  });
});
