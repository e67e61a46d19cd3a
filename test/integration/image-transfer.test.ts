/**
 * Images in and out of the state directory without rebuilding: `push` of a stored image, `pull`
 * back after `rmi` (digests checked with skopeo against a real registry), `--load` into a real
 * dockerd and `docker run`, and the build flags around them: -q, BUILDKIT_PROGRESS, and names
 * and paths rejected before the first step.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerdRunning } from '../helpers/dockerd.js';
import { runCli } from '../helpers/build-fixture.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const run = promisify(execFile);
const hasRegistry = spawnSync('sh', ['-c', 'command -v docker-registry'], { stdio: 'ignore' }).status === 0;
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let dir: string;
let state: string;
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { env: { TSBUILD_ROOT: state, ...env } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-transfer-'));
  state = join(dir, 'state');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('build -q, BUILDKIT_PROGRESS', () => {
  it('-q prints the image ID alone on stdout, the one --iidfile holds, and nothing on stderr', async () => {
    const r = await cli(['build', '-q', '--iidfile', join(dir, 'iid'), 'fixtures/demo']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
    expect(r.stdout).toBe(`${await readFile(join(dir, 'iid'), 'utf8')}\n`);
  }, 120_000);

  it('BUILDKIT_PROGRESS picks the progress mode when --progress is not given; the flag wins', async () => {
    const json = await cli(['build', 'fixtures/demo'], { BUILDKIT_PROGRESS: 'rawjson' });
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stderr.split('\n')[0]!)).toHaveProperty('type');
    const plain = await cli(['build', '--progress', 'plain', 'fixtures/demo'], { BUILDKIT_PROGRESS: 'json' });
    expect(plain.stderr).toMatch(/^#1 /);
    expect((await cli(['build', 'fixtures/demo'], { BUILDKIT_PROGRESS: 'plain' })).stderr).toMatch(/^#1 /);
    const quiet = await cli(['build', 'fixtures/demo'], { BUILDKIT_PROGRESS: 'quiet' });
    expect(quiet).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
    const bad = await cli(['build', 'fixtures/demo'], { BUILDKIT_PROGRESS: 'fancy' });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('BUILDKIT_PROGRESS "fancy" is not a progress mode');
    // the same word on the command line is bad usage
    const flag = await cli(['build', '--progress', 'BOGUS', 'fixtures/demo']);
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr).toMatch(/--progress.*BOGUS.*(auto, plain, tty, json, rawjson, quiet)/);
    const clash = await cli(['build', '-q', '--progress', 'plain', 'fixtures/demo']);
    expect(clash.exitCode).toBe(2);
    expect(clash.stderr).toContain('progress=plain and quiet cannot be used together');
  }, 120_000);
});

describe('fail before work', () => {
  it.each([
    [['-t', 'Bad:Name'], 'invalid argument "Bad:Name" for "-t, --tag" flag'],
    [['-t', 'ok', '--push', '-t', 'reg.example/app@sha256:' + 'a'.repeat(64)], 'cannot contain a digest'],
    [['-o', 'type=image,name=app/UP:1,push=true'], 'invalid argument "app/UP:1" for --output type=image,name='],
    [['-o', 'type=image,push=true'], 'type=image,push=true has no name to push to'],
    [
      ['--iidfile', '/nonexistent-dir/iid'],
      '--iidfile /nonexistent-dir/iid: its directory /nonexistent-dir does not exist',
    ],
    [['--metadata-file', '/nonexistent-dir/m.json'], '--metadata-file /nonexistent-dir/m.json: its directory'],
  ])('%j is refused before any step runs, without touching the state dir', async (args, message) => {
    const fresh = join(dir, `fresh-${createHash('md5').update(args.join(' ')).digest('hex')}`);
    const started = Date.now();
    const r = await runCli(['build', '--progress=plain', ...args, 'fixtures/demo'], { env: { TSBUILD_ROOT: fresh } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/^#1 /m);
    expect(existsSync(fresh)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('--load', () => {
  it('without a docker CLI on PATH fails before work, naming the alternatives', async () => {
    const bin = join(dir, 'node-only-bin');
    await mkdir(bin, { recursive: true });
    await symlink(process.execPath, join(bin, 'node')).catch(() => {});
    const fresh = join(dir, 'fresh-load');
    const r = await runCli(['build', '--load', 'fixtures/demo'], { env: { TSBUILD_ROOT: fresh, PATH: bin } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('--load needs the docker CLI, and docker is not installed (or not on PATH)');
    expect(r.stderr).toMatch(/hint: .*-o type=docker,dest=image\.tar.*tsbuild save.*--push/);
    expect(existsSync(fresh)).toBe(false);
  });

  it('with no daemon answering fails with an environment error naming the alternatives', async () => {
    const r = await cli(['build', '-o', 'type=docker', 'fixtures/demo'], {
      DOCKER_HOST: `unix://${join(dir, 'no-dockerd.sock')}`,
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/error: --load: no docker daemon answers \(Cannot connect to the Docker daemon/);
    expect(r.stderr).toContain('hint: start dockerd or point DOCKER_HOST at one; or write the image to a file');
  }, 120_000);

  it('puts the image into the local docker, which runs it with the same image ID (where a dockerd answers)', async (ctx) => {
    if (!dockerdRunning()) {
      ctx.skip('no dockerd answers here: --load into docker is skipped');
      return;
    }
    const name = `tsbuild-load-test:${process.pid}`;
    try {
      const r = await cli(['build', '-t', name, '--load', '--iidfile', join(dir, 'load-iid'), 'fixtures/demo']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toContain(`loaded into docker: Loaded image: ${name}`);
      const id = (await run('docker', ['images', '--no-trunc', '--format', '{{.ID}}', name])).stdout.trim();
      expect(id).toBe(await readFile(join(dir, 'load-iid'), 'utf8'));
      const out = (await run('docker', ['run', '--rm', name, 'docker'])).stdout;
      expect(out).toBe('hi, docker! (demo 1.0.0, running as app in /app)\n');
    } finally {
      await run('docker', ['rmi', name]).catch(() => {});
    }
  }, 120_000);
});

describe('push and pull', () => {
  let reg: TestRegistry | undefined;
  let iid: string;
  let pushed: string;
  beforeAll(async () => {
    if (hasRegistry) reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });
  const skopeo = async (name: string, config = false): Promise<Buffer> =>
    (
      await run(
        'skopeo',
        ['inspect', '--raw', ...(config ? ['--config'] : []), '--tls-verify=false', `docker://${reg!.host}/${name}`],
        { encoding: 'buffer' },
      )
    ).stdout;

  it("push sends a stored image gzipped as the build's --push sends it; a second push finds every layer there", async (ctx) => {
    if (!reg) {
      ctx.skip('docker-registry is not installed here: push and pull are skipped');
      return;
    }
    const built = await cli(['build', '-q', '-t', `${reg.host}/demo:1`, 'fixtures/demo']);
    expect(built.exitCode, built.stderr).toBe(0);
    iid = built.stdout.trim();
    const r = await cli(['push', `${reg.host}/demo:1`]);
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(`The push refers to repository [${reg.host}/demo]`);
    const digestLine = /^1: digest: (sha256:[a-f0-9]{64}) size: (\d+)$/.exec(lines.at(-1)!);
    expect(digestLine).not.toBeNull();
    pushed = digestLine![1]!;
    const manifest = await skopeo('demo:1');
    expect(sha256(manifest)).toBe(pushed);
    expect(String(manifest.length)).toBe(digestLine![2]);
    expect(sha256(await skopeo('demo:1', true))).toBe(iid);
    const layers = (JSON.parse(manifest.toString()) as { layers: { digest: string; mediaType: string }[] }).layers;
    expect(lines.slice(1, -1).sort()).toEqual(layers.map((l) => `${l.digest.slice(7, 19)}: Pushed`).sort());
    // the -t build stored plain tars; docker push and the build's --push send gzip, the same blobs
    expect(new Set(layers.map((l) => l.mediaType))).toEqual(new Set(['application/vnd.oci.image.layer.v1.tar+gzip']));
    const meta = join(dir, 'direct-push.json');
    const direct = await cli([
      'build',
      '-q',
      '--push',
      '--metadata-file',
      meta,
      '-t',
      `${reg.host}/direct:1`,
      'fixtures/demo',
    ]);
    expect(direct.exitCode, direct.stderr).toBe(0);
    expect(JSON.parse(await readFile(meta, 'utf8'))['containerimage.digest']).toBe(pushed);
    // both pushes recorded what the registry has the image under (docker's RepoDigests)
    const digests = await cli(['inspect', '-f', '{{json .RepoDigests}}', `${reg.host}/demo:1`]);
    expect(JSON.parse(digests.stdout)).toEqual([`${reg.host}/demo@${pushed}`, `${reg.host}/direct@${pushed}`].sort());
    const listed = await cli(['images', '--digests', `${reg.host}/direct`]);
    expect(listed.stdout.split('\n')[0]).toMatch(/^REPOSITORY +TAG +DIGEST +IMAGE ID +CREATED +SIZE$/);
    expect(listed.stdout.split('\n')[1]).toMatch(new RegExp(`^${reg.host}/direct +1 +${pushed} +`));

    const again = await cli(['push', `${reg.host}/demo:1`]);
    expect(again.stdout).toContain(': Layer already exists\n');
    expect(again.stdout).not.toContain(': Pushed');
  }, 120_000);

  it('push to another repository of the registry mounts the layers; -a pushes every tag', async (ctx) => {
    if (!reg || !pushed) {
      ctx.skip('docker-registry is not installed here (or the first push failed): skipped');
      return;
    }
    expect((await cli(['tag', `${reg.host}/demo:1`, `${reg.host}/other:a`])).exitCode).toBe(0);
    expect((await cli(['tag', `${reg.host}/demo:1`, `${reg.host}/other:b`])).exitCode).toBe(0);
    const r = await cli(['push', '-a', `${reg.host}/other`]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(': Mounted from demo\n');
    expect(r.stdout).toContain(`a: digest: ${pushed} `);
    expect(r.stdout).toContain(`b: digest: ${pushed} `);
    const missing = await cli(['push', `${reg.host}/nothing:1`]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain(`No such image: ${reg.host}/nothing:1`);
  }, 60_000);

  it('rmi then pull brings back the same image: manifest digest (skopeo) and image ID', async (ctx) => {
    if (!reg || !pushed) {
      ctx.skip('docker-registry is not installed here (or the first push failed): skipped');
      return;
    }
    for (const n of ['demo:1', 'other:a', 'other:b']) expect((await cli(['rmi', `${reg.host}/${n}`])).exitCode).toBe(0);
    // pulled into an empty state dir too, so every layer is downloaded
    const empty = join(dir, 'pull-state');
    for (const root of [state, empty]) {
      const r = await runCli(['pull', `${reg.host}/demo:1`], { env: { TSBUILD_ROOT: root } });
      expect(r.exitCode, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toBe('1: Pulling from demo');
      expect(lines).toContain(`Digest: ${pushed}`);
      expect(lines).toContain(`Status: Downloaded newer image for ${reg.host}/demo:1`);
      expect(lines.at(-1)).toBe(`${reg.host}/demo:1`);
      if (root === empty) expect(lines.filter((l) => l.endsWith(': Pull complete')).length).toBeGreaterThan(0);
      const id = await runCli(['inspect', '-f', '{{.Id}}', `${reg.host}/demo:1`], { env: { TSBUILD_ROOT: root } });
      expect(id.stdout).toBe(`${iid}\n`);
      const repoDigests = await runCli(['inspect', '-f', '{{json .RepoDigests}}', `${reg.host}/demo:1`], {
        env: { TSBUILD_ROOT: root },
      });
      expect(JSON.parse(repoDigests.stdout)).toContain(`${reg.host}/demo@${pushed}`);
      const saved = join(dir, `pulled-${root === state ? 'a' : 'b'}.tar`);
      expect(
        (await runCli(['save', '--format', 'oci', '-o', saved, `${reg.host}/demo:1`], { env: { TSBUILD_ROOT: root } }))
          .exitCode,
      ).toBe(0);
      const raw = (await run('skopeo', ['inspect', '--raw', `oci-archive:${saved}`], { encoding: 'buffer' })).stdout;
      expect(sha256(raw)).toBe(pushed);
    }
    const again = await cli(['pull', '-q', `${reg.host}/demo:1`]);
    expect(again.stdout).toBe(`${reg.host}/demo:1\n`);
    const upToDate = await cli(['pull', `${reg.host}/demo:1`]);
    expect(upToDate.stdout).toContain(`Status: Image is up to date for ${reg.host}/demo:1`);
    const unknown = await cli(['pull', `${reg.host}/nothing:1`]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain(`image not found: ${reg.host}/nothing:1`);
  }, 120_000);
});
