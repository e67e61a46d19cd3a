import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatePaths } from '../../src/store/state-paths.js';
import {
  ALLOW_FIXTURE_BASES,
  FROM_BASE,
  makeFixture,
  runCli,
  TSBUILD,
  type Fixture,
} from '../helpers/build-fixture.js';

const run = promisify(execFile);

/** Starts a build and SIGKILLs it after `ms`; resolves once it is dead. */
function killedBuild(f: Fixture, ms: number, extra: string[]): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(
      TSBUILD,
      [...ALLOW_FIXTURE_BASES, '--progress=plain', '-t', 'fixture:latest', ...extra, f.context],
      {
        env: { ...process.env, TSBUILD_ROOT: f.stateRoot },
        stdio: 'ignore',
      },
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** What a state dir must not hold once no build runs (and a sweep happened). */
async function leftovers(state: string): Promise<string[]> {
  const out: string[] = [];
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  for (const l of mounts.split('\n'))
    if (l.split(' ')[4]?.startsWith(state + '/')) out.push(`mount ${l.split(' ')[4]}`);
  for (const n of await readdir(join(state, 'snapshots')).catch(() => [] as string[]))
    if (n.startsWith('.')) out.push(`snapshots/${n}`);
  for (const n of await readdir(join(state, 'tmp')).catch(() => [] as string[])) out.push(`tmp/${n}`);
  for (const n of await readdir(join(state, 'content', 'ingest')).catch(() => [] as string[])) out.push(`ingest/${n}`);
  const paths = new StatePaths(state);
  for (const n of await readdir(paths.runtimeTmpRoot).catch(() => [] as string[])) out.push(`runtime tmp/${n}`);
  // runc makes its --root when it lists one: ask only where there is one
  const { stdout } = existsSync(paths.runc)
    ? await run('runc', ['--root', paths.runc, 'list', '-q']).catch(() => ({ stdout: '' }))
    : { stdout: '' };
  for (const id of stdout.split('\n').filter(Boolean)) out.push(`runc ${id}`);
  return out;
}

describe('state directory safety', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture({
      Dockerfile: [
        `FROM ${FROM_BASE}`,
        'ARG N=0',
        'COPY data/ /data/',
        'RUN sleep 0.3 && echo "$N" > /n && ls /data > /list',
        'RUN sleep 0.3 && cat /n /list > /both',
        'WORKDIR /w',
        'RUN echo done > /w/done',
        '',
      ].join('\n'),
      ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`data/f${i}.txt`, `file ${i}\n`.repeat(200)])),
    });
  });
  afterAll(() => f.cleanup());

  it('a build killed with SIGKILL at any point leaves a state dir the next build uses', async () => {
    // Bounded: 6 kills at spread-out moments, each followed by a build that must succeed.
    const delays = [150, 400, 700, 1000, 1400, 1900].map((d) => d + Math.floor(Math.random() * 200));
    const seen: string[] = [];
    for (const [i, ms] of delays.entries()) {
      await killedBuild(f, ms, ['--build-arg', `N=${i}`, '-o', `type=oci,dest=${f.archive}`]);
      seen.push(...(await leftovers(f.stateRoot)));
      const r = await runCli(['--progress=plain', '-t', 'fixture:latest', '--build-arg', `N=${i}`, f.context], {
        env: { TSBUILD_ROOT: f.stateRoot },
      });
      expect(r.exitCode, `rebuild after a kill at ${ms} ms:\n${r.stderr}`).toBe(0);
      expect(await leftovers(f.stateRoot)).toEqual([]);
    }
    // the kills did land mid-build: there was something to sweep (a mount, a pending snapshot, a container…)
    expect(seen.length).toBeGreaterThan(0);
    console.log(
      `after the kills, swept: ${[...new Set(seen.map((s) => s.replace(/[-.][0-9a-f.]{8,}.*$/, '…')))].join(', ')}`,
    );
    const img = await run('skopeo', ['inspect', `oci:${f.stateRoot}/content:fixture:latest`]);
    expect(JSON.parse(img.stdout)).toHaveProperty('Layers');
  }, 240_000);

  it('two builds share the state dir at once', async () => {
    const env = { TSBUILD_ROOT: f.stateRoot };
    const [a, b] = await Promise.all([
      runCli(['--progress=plain', '-t', 'one:latest', '--build-arg', 'N=a', f.context], { env }),
      runCli(['--progress=plain', '-t', 'two:latest', '--build-arg', 'N=b', f.context], { env }),
    ]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
    const index = JSON.parse(await readFile(join(f.stateRoot, 'content', 'index.json'), 'utf8')) as {
      manifests: { annotations: Record<string, string> }[];
    };
    const names = index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']);
    expect(names).toEqual(expect.arrayContaining(['one:latest', 'two:latest']));
    expect(await leftovers(f.stateRoot)).toEqual([]);
  }, 120_000);

  it('prune waits for a running build and the build still succeeds', async () => {
    const env = { TSBUILD_ROOT: f.stateRoot };
    const building = runCli(['--progress=plain', '-t', 'fixture:latest', '--build-arg', 'N=prune', f.context], { env });
    await new Promise((r) => setTimeout(r, 300));
    const [b, p] = await Promise.all([building, runCli(['prune', '--all'], { env })]);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(p.exitCode, p.stderr).toBe(0);
    expect(await leftovers(f.stateRoot)).toEqual([]);
  }, 120_000);
});
