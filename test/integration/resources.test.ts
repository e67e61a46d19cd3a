/**
 * --memory, --cpus, --cpuset-cpus, --cgroup-parent on this machine's real kernel (cgroup v1, v2
 * or hybrid: the paths are read from the step's /proc/self/cgroup), with what each step used
 * shown in the progress and listed in --metadata-file; and the pids limit against a fork bomb.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ALLOW_FIXTURE_BASES, FROM_BASE, makeFixture, TSBUILD, type Fixture } from '../helpers/build-fixture.js';

/** The host directories of the cgroup a step printed with `cat /proc/self/cgroup` (no cgroup namespace). */
function cgroupDirs(output: string): { controllers: string; dir: string }[] {
  const out: { controllers: string; dir: string }[] = [];
  for (const m of output.matchAll(/^#\d+ [\d.]+ (\d+):([^:\n]*):(\/[^\n]*)$/gm)) {
    const controllers = m[2]!;
    const mount =
      controllers === ''
        ? ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((d) => existsSync(join(d, 'cgroup.controllers')))
        : `/sys/fs/cgroup/${controllers.replace('name=', '')}`;
    if (mount && existsSync(mount)) out.push({ controllers, dir: join(mount, m[3]!) });
  }
  return out;
}

interface StepEntry {
  name: string;
  cached?: boolean;
  durationMs?: number;
  peakMemoryBytes?: number;
  cpuSeconds?: number;
}

async function stepsOf(file: string): Promise<StepEntry[]> {
  return (JSON.parse(await readFile(file, 'utf8')) as { 'tsbuild.steps': StepEntry[] })['tsbuild.steps'];
}

describe('RUN resource limits', () => {
  let fx: Fixture | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });

  it('a RUN allocating more than --memory is killed, and the failure names the limit', async () => {
    // dd holds its whole 100 MiB block in memory (one read fills it)
    fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN dd if=/dev/zero of=/dev/null bs=100M count=1\n` });
    const res = await fx.build(['--memory', '32m']);
    expect(res.exitCode, res.stderr).toBe(1);
    expect(res.stderr).toMatch(
      /RUN dd .* failed: process "\/bin\/sh -c dd .*" did not complete successfully: exit code: 137: killed by the kernel for exceeding its memory limit of 32 MiB \(--memory\)/,
    );
    expect(res.stderr).toMatch(/hint: give the build more memory with --memory/);

    // without the limit it allocates as much, and succeeds: the peak shown says so
    const meta = join(fx.dir, 'meta.json');
    const ok = await fx.build(['--metadata-file', meta]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    const run = (await stepsOf(meta)).find((s) => s.name.includes('RUN dd'))!;
    expect(run.peakMemoryBytes).toBeGreaterThan(100 * 1024 * 1024);
    expect(ok.stderr).toMatch(/^#\d+ DONE [\d.]+s \(peak 1\d\d(\.\d)? MiB, cpu [\d.]+s\)$/m);
  }, 60_000);

  it('lists each step with its peak memory, CPU time and duration in --metadata-file', async () => {
    fx = await makeFixture({
      Dockerfile: `FROM ${FROM_BASE}\nRUN echo small\nRUN dd if=/dev/zero of=/dev/null bs=20M count=1\nCOPY Dockerfile /\n`,
    });
    const meta = join(fx.dir, 'meta.json');
    const res = await fx.build(['--memory', '256m', '--metadata-file', meta]);
    expect(res.exitCode, res.stderr).toBe(0);
    const steps = await stepsOf(meta);
    expect(steps.map((s) => s.name)).toEqual([
      '[stage-0 2/4] RUN echo small',
      '[stage-0 3/4] RUN dd if=/dev/zero of=/dev/null bs=20M count=1',
      '[stage-0 4/4] COPY Dockerfile /',
    ]);
    const [small, dd, copy] = steps as [StepEntry, StepEntry, StepEntry];
    expect(dd.peakMemoryBytes).toBeGreaterThanOrEqual(20 * 1024 * 1024);
    expect(dd.peakMemoryBytes).toBeLessThan(256 * 1024 * 1024);
    expect(small.peakMemoryBytes).toBeLessThan(dd.peakMemoryBytes!);
    for (const s of [small, dd]) {
      expect(s.cpuSeconds).toBeGreaterThan(0);
      expect(s.durationMs).toBeGreaterThan(0);
    }
    // a COPY runs no process: its time only
    expect(copy).toEqual({ name: '[stage-0 4/4] COPY Dockerfile /', durationMs: expect.any(Number) });

    // the limits are not part of the cache keys: other limits, the same steps, all cached
    const again = await fx.build(['--memory', '64m', '--cpus', '1', '--cpu-shares', '512', '--metadata-file', meta]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await stepsOf(meta)).every((s) => s.cached)).toBe(true);
  }, 60_000);

  it('--cpuset-cpus=0 pins every RUN to CPU 0', async () => {
    fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN grep Cpus_allowed_list /proc/self/status\n` });
    const res = await fx.build(['--cpuset-cpus=0']);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/^#\d+ [\d.]+ Cpus_allowed_list:\s+0$/m);
  }, 60_000);

  it('--cpus sets the CFS quota of the step cgroup, under --cgroup-parent', async () => {
    const parent = `tsbuild-it-parent-${process.pid}`;
    fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN cat /proc/self/cgroup; sleep 3\n` });
    // read the quota from the host while the step sleeps
    const child = spawn(
      TSBUILD,
      [...ALLOW_FIXTURE_BASES, '--progress=plain', '--cpus', '0.5', '--cgroup-parent', parent, fx.context],
      { env: { ...process.env, TSBUILD_ROOT: fx.stateRoot }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const seen: string[] = [];
    const exit = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
      for (const { controllers, dir } of cgroupDirs(output)) {
        if (controllers.split(',').includes('cpu') && existsSync(join(dir, 'cpu.cfs_quota_us')))
          seen.push(`v1 ${readFileSync(join(dir, 'cpu.cfs_quota_us'), 'utf8').trim()}`);
        if (controllers === '' && existsSync(join(dir, 'cpu.max')))
          seen.push(`v2 ${readFileSync(join(dir, 'cpu.max'), 'utf8').trim()}`);
      }
    });
    expect(await exit, output).toBe(0);
    const dirs = cgroupDirs(output);
    try {
      expect(seen.length, output).toBeGreaterThan(0);
      // a quota of half of the 100 ms period (v2 with the cpu controller: "50000 100000")
      expect(seen[0]).toMatch(/^(v1 50000|v2 50000 100000)$/);
      // the step's cgroup is below the parent in every hierarchy, and gone after the step
      for (const { dir } of dirs) {
        expect(dirname(dir).endsWith(`/${parent}`), dir).toBe(true);
        expect(existsSync(dir), dir).toBe(false);
      }
    } finally {
      for (const { dir } of dirs) if (existsSync(dirname(dir))) rmdirSync(dirname(dir));
    }
  }, 60_000);

  it('a fork bomb fails its step by the pids limit and leaves no process or cgroup behind', async () => {
    const marker = String(4000 + (process.pid % 1000));
    fx = await makeFixture({
      Dockerfile: `FROM ${FROM_BASE}\nRUN cat /proc/self/cgroup; while :; do sleep ${marker} & done\n`,
    });
    const res = await fx.build(['--memory', '512m'], { env: { TSBUILD_PIDS_LIMIT: '200' } });
    expect(res.exitCode, res.stderr).toBe(1);
    expect(res.stderr).toMatch(/limit of 200 processes and threads/);
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
    const dirs = cgroupDirs(res.stderr);
    expect(dirs.length, res.stderr).toBeGreaterThan(0);
    for (const { dir } of dirs) expect(existsSync(dir), dir).toBe(false);
    // the state dir is fine: the next build of the same context works
    await (await import('node:fs/promises')).writeFile(join(fx.context, 'Dockerfile'), `FROM ${FROM_BASE}\nRUN true\n`);
    const next = await fx.build();
    expect(next.exitCode, next.stderr).toBe(0);
  }, 60_000);
});
