/**
 * RUN steps under crun (oci-runtime.ts, crun-runner.ts, step-cgroup.ts): picked by default where
 * it can run them, the same images as runc's, the sandbox runc gives (device rules, the pids
 * limit), what a step used, cancellation and a killed build's leftovers, and the fall back to runc
 * when crun's set-up fails on a host.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findOnPath } from '../../src/process/find-on-path.js';
import { RuntimePaths, runtimeRootFor } from '../../src/store/state-paths.js';
import { stepCgroupParentsV1 } from '../../src/executor/step-cgroup.js';
import { ALLOW_FIXTURE_BASES, FROM_BASE, makeFixture, TSBUILD, type Fixture } from '../helpers/build-fixture.js';

const why = !findOnPath('crun')
  ? 'crun is not installed (scripts/install-deps.sh installs it)'
  : process.geteuid?.() !== 0
    ? 'needs root'
    : !(await stepCgroupParentsV1())
      ? 'no cgroup v1 hierarchies here: tsbuild runs steps with runc on a pure cgroup v2 host'
      : undefined;
if (why) console.log(`skipping crun runtime tests: ${why}`);

const CRUN = { TSBUILD_RUNTIME: 'crun', TSBUILD_SERVER: '0' };
const RUNC = { TSBUILD_RUNTIME: 'runc', TSBUILD_SERVER: '0' };

function runtimeDirs(stateRoot: string): RuntimePaths {
  return new RuntimePaths(runtimeRootFor(stateRoot));
}

const entries = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

/** Starts a build and collects which runtime's state dir held a container while it ran. */
function buildWatching(
  fx: Fixture,
  env: NodeJS.ProcessEnv,
): Promise<{ exitCode: number; stderr: string; saw: Set<string> }> {
  const rt = runtimeDirs(fx.stateRoot);
  const saw = new Set<string>();
  const timer = setInterval(() => {
    if (entries(rt.crun).length) saw.add('crun');
    if (entries(rt.runc).length) saw.add('runc');
  }, 20);
  return new Promise((resolve) => {
    const child = spawn(
      TSBUILD,
      [...ALLOW_FIXTURE_BASES, '--progress=plain', '-t', 'fx:1', '-o', `type=oci,dest=${fx.archive}`, fx.context],
      { env: { ...process.env, TSBUILD_ROOT: fx.stateRoot, TSBUILD_SERVER: '0', ...env } },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.stdout.resume();
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ exitCode: code ?? 1, stderr, saw });
    });
  });
}

const digestOf = (stdout: string, stderr: string): string | undefined =>
  /^manifest (sha256:[0-9a-f]{64})$/m.exec(`${stdout}\n${stderr}`)?.[1];

describe.skipIf(why)('RUN steps under crun', () => {
  let fx: Fixture | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });

  it('crun runs the steps by default, and its image is the one runc makes', async () => {
    fx = await makeFixture({
      Dockerfile: [
        `FROM ${FROM_BASE}`,
        'WORKDIR /work',
        'RUN sleep 0.3 && echo one > one.txt && mkdir -p d/e && echo deep > d/e/f',
        'RUN rm one.txt && ln -s d/e/f link && chmod 0750 d',
        'USER 1000:1000',
        'RUN id > /tmp/id.txt',
        '',
      ].join('\n'),
    });
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const byDefault = await buildWatching(fx, { ...env, TSBUILD_RUNTIME: '' });
    expect(byDefault.exitCode, byDefault.stderr).toBe(0);
    expect([...byDefault.saw]).toEqual(['crun']);
    // the build leaves no runtime dir behind: its crun root goes with the rest
    expect(existsSync(runtimeDirs(fx.stateRoot).root)).toBe(false);
    const crunDigest = digestOf('', byDefault.stderr);

    rmSync(fx.stateRoot, { recursive: true, force: true });
    const withRunc = await buildWatching(fx, { ...env, ...RUNC });
    expect(withRunc.exitCode, withRunc.stderr).toBe(0);
    expect([...withRunc.saw]).toEqual(['runc']);
    expect(existsSync(runtimeDirs(fx.stateRoot).root)).toBe(false);
    expect(crunDigest).toMatch(/^sha256:/);
    expect(digestOf('', withRunc.stderr)).toBe(crunDigest);
  });

  it('keeps runc’s sandbox: device nodes can be made but not opened, the pids limit holds, usage is shown', async () => {
    fx = await makeFixture({
      Dockerfile: [
        `FROM ${FROM_BASE}`,
        'RUN mknod /tmp/sda b 8 0 && if head -c1 /tmp/sda >/dev/null; then echo DISK-READ; else echo DISK-DENIED; fi && echo x >/dev/null && echo NULL-OK',
        '',
      ].join('\n'),
    });
    const res = await fx.build([], { env: CRUN });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stderr).toContain('DISK-DENIED');
    expect(res.stderr).toContain('NULL-OK');
    expect(res.stderr).toMatch(/DONE [\d.]+s \(peak [\d.]+ [KM]iB, cpu [\d.]+s\)/);

    await fx.cleanup();
    fx = await makeFixture({
      Dockerfile: `FROM ${FROM_BASE}\nRUN for i in $(seq 1 40); do sleep 5 & done; wait\n`,
    });
    const bomb = await fx.build([], { env: { ...CRUN, TSBUILD_PIDS_LIMIT: '16' } });
    expect(bomb.exitCode, bomb.stderr).toBe(1);
    expect(bomb.stderr).toMatch(/reached its limit of 16 processes and threads/);
  });

  it('a cancelled step leaves no process, cgroup or crun state behind', async () => {
    fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN echo started-$((1+1)); sleep 60\n` });
    const rt = runtimeDirs(fx.stateRoot);
    const child = spawn(TSBUILD, [...ALLOW_FIXTURE_BASES, '--progress=plain', '-t', 'fx:1', fx.context], {
      env: { ...process.env, TSBUILD_ROOT: fx.stateRoot, ...CRUN },
    });
    let stderr = '';
    let container = '';
    const closed = new Promise<number | null>((r) => child.on('close', r));
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (c: Buffer) => {
        stderr += c;
        if (stderr.includes('started-2') && !container) {
          container = entries(rt.crun)[0] ?? '';
          child.kill('SIGINT');
          resolve();
        }
      });
    });
    expect(await closed, stderr).toBe(130);
    expect(container).toMatch(/^tsbuild-/);
    expect(entries(rt.crun)).toEqual([]);
    const parents = (await stepCgroupParentsV1())!;
    for (const parent of new Set(parents.values())) expect(existsSync(join(parent, container))).toBe(false);
  });

  it('falls back to runc when crun’s set-up fails on the host', async () => {
    // an unshare whose namespace cannot detach the hybrid host's cgroup2 mount (a path that is
    // not one): the step must still run, under runc
    const bin = mkdtempSync(join(tmpdir(), 'tsbuild-unshare-'));
    try {
      const fake = join(bin, 'unshare');
      writeFileSync(
        fake,
        `#!/bin/bash\nargs=("$@")\nargs[12]=/nonexistent-cgroup2\nexec ${findOnPath('unshare')} "\${args[@]}"\n`,
      );
      chmodSync(fake, 0o755);
      fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN echo first-step\nRUN echo second-step\n` });
      const res = await buildWatching(fx, { TSBUILD_RUNTIME: 'auto', PATH: `${bin}:${process.env.PATH}` });
      expect(res.exitCode, res.stderr).toBe(0);
      expect(res.stderr).toContain('first-step');
      expect(res.stderr).toContain('second-step');
      expect(res.saw.has('runc')).toBe(true);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('says what is wrong with TSBUILD_RUNTIME', async () => {
    fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN true\n` });
    const bad = await fx.build([], { env: { TSBUILD_RUNTIME: 'kata', TSBUILD_SERVER: '0' } });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/TSBUILD_RUNTIME=kata is not a runtime tsbuild knows/);
    const limited = await fx.build(['--memory', '64m'], { env: CRUN });
    expect(limited.exitCode).not.toBe(0);
    expect(limited.stderr).toMatch(/TSBUILD_RUNTIME=crun, but crun cannot run this step: steps with resource limits/);
  });
});
