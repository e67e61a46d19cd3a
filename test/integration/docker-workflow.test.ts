/**
 * The workflow people learned from docker, walked end to end on real parts (issue 12's test):
 * build -t → images → tag → run → save → docker load → docker run (skopeo and umoci where no
 * dockerd answers) → push → rmi → pull → run → load of an archive skopeo made → rmi → prune
 * frees the blobs.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/build-fixture.js';
import { dockerdRunning } from '../helpers/dockerd.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const run = promisify(execFile);
const hasRegistry = spawnSync('sh', ['-c', 'command -v docker-registry'], { stdio: 'ignore' }).status === 0;

let dir: string;
let state: string;
let reg: TestRegistry | undefined;
const cli = (args: string[]) => runCli(args, { env: { TSBUILD_ROOT: state } });
const greeting = (who: string) => `hello, ${who}! (demo 1.0.0, running as app in /app)`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-workflow-'));
  state = join(dir, 'state');
  if (hasRegistry) reg = await startRegistry();
});
afterAll(async () => {
  await reg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function blobCount(): Promise<number> {
  return (await readdir(join(state, 'content', 'blobs', 'sha256'))).length;
}

describe('the docker workflow without a daemon', () => {
  it('build, images, tag, run, save, load, push, rmi, pull, prune', async (ctx) => {
    // build -t
    const built = await cli(['build', '-q', '--build-arg', 'GREETING=hello', '-t', 'demo:1.0', 'fixtures/demo']);
    expect(built.exitCode, built.stderr).toBe(0);
    const id = built.stdout.trim();
    expect(id).toMatch(/^sha256:[a-f0-9]{64}$/);

    // images: the ID is the one the build printed
    const listed = await cli(['images', '--format', 'json']);
    const rows = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { Repository: string; Tag: string; ID: string });
    expect(rows.find((r) => r.Repository === 'demo' && r.Tag === '1.0')?.ID).toBe(id.slice(7, 19));

    // tag, then run by the new name: output and exit code
    expect((await cli(['tag', 'demo:1.0', 'demo:latest'])).exitCode).toBe(0);
    const ran = await cli(['run', '--rm', 'demo', 'workflow']);
    expect(ran.exitCode, ran.stderr).toBe(0);
    expect(ran.stdout).toBe(`${greeting('workflow')}\n`);
    const failed = await cli(['run', '--entrypoint', 'sh', 'demo:1.0', '-c', 'echo out; exit 7']);
    expect(failed.exitCode).toBe(7);
    expect(failed.stdout).toBe('out\n');

    // save → docker load → docker run where a dockerd answers; skopeo + umoci otherwise
    const archive = join(dir, 'demo.tar');
    expect((await cli(['save', '-o', archive, 'demo:1.0'])).exitCode).toBe(0);
    if (dockerdRunning()) {
      await run('docker', ['load', '-i', archive]);
      const dockerId = (await run('docker', ['images', '--no-trunc', '-q', 'demo:1.0'])).stdout.trim();
      expect(dockerId).toBe(id);
      const out = (await run('docker', ['run', '--rm', 'demo:1.0', 'docker'])).stdout;
      expect(out).toBe(`${greeting('docker')}\n`);
      await run('docker', ['rmi', 'demo:1.0']).catch(() => undefined);
    } else {
      const layout = join(dir, 'layout');
      await run('skopeo', ['copy', `docker-archive:${archive}`, `oci:${layout}:demo`]);
      await run('umoci', ['unpack', '--image', `${layout}:demo`, join(dir, 'bundle')]);
      const config = JSON.parse((await run('skopeo', ['inspect', '--config', `oci:${layout}:demo`])).stdout) as {
        config: { Entrypoint: string[] };
      };
      expect(config.config.Entrypoint).toEqual(['/app/bin/greet']);
    }

    // push → rmi → pull → run
    if (reg) {
      const name = `${reg.host}/demo:1.0`;
      expect((await cli(['tag', 'demo:1.0', name])).exitCode).toBe(0);
      const pushed = await cli(['push', name]);
      expect(pushed.exitCode, pushed.stderr).toBe(0);
      expect((await cli(['rmi', name])).exitCode).toBe(0);
      const pulled = await cli(['pull', name]);
      expect(pulled.exitCode, pulled.stderr).toBe(0);
      const again = await cli(['run', name, 'registry']);
      expect(again.stdout).toBe(`${greeting('registry')}\n`);
      expect((await cli(['inspect', '-f', '{{.Id}}', name])).stdout.trim()).toBe(id);
      expect((await cli(['rmi', name])).exitCode).toBe(0);
    } else {
      ctx.annotate('docker-registry is not installed here: push and pull were skipped');
    }

    // load of an archive skopeo made (from the one we saved), under another name
    const other = join(dir, 'skopeo.tar');
    await run('skopeo', ['copy', `docker-archive:${archive}`, `docker-archive:${other}:made/by-skopeo:2`]);
    const loaded = await cli(['load', '-i', other]);
    expect(loaded.exitCode, loaded.stderr).toBe(0);
    expect(loaded.stdout).toContain('Loaded image: made/by-skopeo:2');
    expect((await cli(['run', 'made/by-skopeo:2', 'skopeo'])).stdout).toBe(`${greeting('skopeo')}\n`);

    // rmi every name, then prune --all frees the blobs
    const before = await blobCount();
    for (const n of ['demo:1.0', 'demo:latest', 'made/by-skopeo:2']) expect((await cli(['rmi', n])).exitCode).toBe(0);
    expect((await cli(['images', '-q'])).stdout).toBe('');
    expect((await cli(['prune', '--all'])).exitCode).toBe(0);
    expect(await blobCount()).toBeLessThan(before);
    // what stays is the pulled tag's pin (its manifest and config: a later FROM of that name
    // resolves without the network), which prune never counts as cache
    expect(await blobCount()).toBe(reg ? 2 : 0);
  }, 300_000);
});
