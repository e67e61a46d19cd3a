/**
 * What killed builds leave outside the state dir (issue 10, point 11): `dest.tmp-*` of an
 * archive write, and `/run/tsbuild/<hash>` (runc's state and RUN bundles) of a state dir that is
 * not used again. The next write to the same dest, and any build, remove them once their owner
 * is dead, and never what a live build is using.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ownerToken } from '../../src/store/owner.js';
import { runtimeRootFor } from '../../src/store/state-paths.js';
import { ALLOW_FIXTURE_BASES, FROM_BASE, REPO_ROOT, runCli, TSBUILD } from '../helpers/build-fixture.js';
import { deadToken } from '../helpers/owner-tokens.js';
import { findOnPath } from '../../src/process/find-on-path.js';
import { stepCgroupParentsV1 } from '../../src/executor/step-cgroup.js';

const crunHere = findOnPath('crun') !== undefined && (await stepCgroupParentsV1()) !== undefined;

let dir: string;
const runtimeDirs: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-leftovers-'));
});

afterAll(async () => {
  // a failed test may leave a container and the killed build's mounts
  for (const rt of runtimeDirs) {
    const runc = join(rt, 'runc');
    for (const id of await readdir(runc).catch(() => [] as string[]))
      spawnSync('runc', ['--root', runc, 'delete', '-f', id]);
    await rm(rt, { recursive: true, force: true });
  }
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => dir && p.startsWith(dir + '/'));
  for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Polls `check` every 20 ms until it is true (no fixed delays: the machine may be loaded). */
async function until(check: () => boolean | Promise<boolean>, what: string, limitMs = 120_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function context(name: string, dockerfile: string, files: Record<string, Buffer | string> = {}): Promise<string> {
  const ctx = join(dir, name);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, 'Dockerfile'), dockerfile);
  for (const [f, data] of Object.entries(files)) await writeFile(join(ctx, f), data);
  return ctx;
}

describe('dest.tmp-* of a killed archive write', () => {
  test('the next write to that dest removes the leftovers of dead writers, and only those', async () => {
    const ctx = await context('small', `FROM ${FROM_BASE}\nCOPY a /a\n`, { a: 'a' });
    const out = join(dir, 'out-small');
    await mkdir(out);
    const dead = `image.tar.tmp-${deadToken()}-aaaaaaaaaaaa`;
    const live = `image.tar.tmp-${ownerToken()}-bbbbbbbbbbbb`;
    const legacy = 'image.tar.tmp-cccccccccccc';
    const other = `other.tar.tmp-${deadToken()}-dddddddddddd`;
    for (const n of [dead, live, legacy, other]) await writeFile(join(out, n), 'partial');
    const r = await runCli(['--progress=plain', '-o', `type=oci,dest=${join(out, 'image.tar')}`, ctx], {
      env: { TSBUILD_ROOT: join(dir, 'state-small') },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['image.tar', live, legacy, other].sort());
  });

  test('a build SIGKILLed while writing its archive leaves a temp the next build removes', async () => {
    const ctx = await context('big', `FROM ${FROM_BASE}\nCOPY big /big\n`, { big: randomBytes(100 << 20) });
    const out = join(dir, 'out-big');
    await mkdir(out);
    const dest = join(out, 'image.tar');
    const env = { ...process.env, TSBUILD_ROOT: join(dir, 'state-big') };
    const args = ['--progress=plain', '-o', `type=oci,dest=${dest}`, ctx];
    const child = spawn(TSBUILD, [...ALLOW_FIXTURE_BASES, ...args], { cwd: REPO_ROOT, env, stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    let finished = false;
    void exited.then(() => (finished = true));
    await until(
      async () => finished || (await readdir(out)).some((n) => n.startsWith('image.tar.tmp-')),
      'the archive temp file',
    );
    child.kill('SIGKILL');
    await exited;
    const left = (await readdir(out)).filter((n) => n.startsWith('image.tar.tmp-'));
    expect(left, 'the build finished before it could be killed').toHaveLength(1);

    const r = await runCli(args, { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await readdir(out)).toEqual(['image.tar']);
  }, 240_000);

  test("type=local: a dead writer's temp directory goes too", async () => {
    const ctx = await context('local', `FROM ${FROM_BASE}\nCOPY a /a\n`, { a: 'a' });
    const out = join(dir, 'out-local');
    const dead = join(out, `rootfs.tmp-${deadToken()}-aaaaaaaaaaaa`);
    await mkdir(join(dead, 'etc'), { recursive: true });
    const r = await runCli(['--progress=plain', '-o', `type=local,dest=${join(out, 'rootfs')}`, ctx], {
      env: { TSBUILD_ROOT: join(dir, 'state-local') },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await readdir(out)).toEqual(['rootfs']);
  });
});

describe('/run/tsbuild/<hash> of a state dir not used again', () => {
  // crun where tsbuild picks it (oci-runtime.ts; skipped where it does not), runc forced
  test.each(['runc', ...(crunHere ? ['crun'] : [])])(
    'a build on another state dir kills the orphaned %s container and removes the dir',
    async (runtime) => {
      const stateA = join(dir, `state-a-${runtime}`);
      await mkdir(stateA, { recursive: true });
      const runtimeA = runtimeRootFor(stateA);
      expect(runtimeA.startsWith('/run/tsbuild/'), 'needs a writable /run').toBe(true);
      runtimeDirs.push(runtimeA);
      const runcA = join(runtimeA, runtime);
      const ctx = await context('sleeper', `FROM ${FROM_BASE}\nRUN sleep 600\n`);
      const child = spawn(TSBUILD, [...ALLOW_FIXTURE_BASES, '--progress=plain', ctx], {
        cwd: REPO_ROOT,
        env: { ...process.env, TSBUILD_ROOT: stateA, TSBUILD_RUNTIME: runtime, TSBUILD_SERVER: '0' },
        stdio: 'ignore',
      });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      // the RUN's container is running
      let id = '';
      let pid = 0;
      await until(() => {
        const list = spawnSync(runtime, ['--root', runcA, 'list', '--format', 'json'], { encoding: 'utf8' });
        const running = (
          JSON.parse(list.stdout || 'null') as { id: string; pid: number; status: string }[] | null
        )?.find((c) => c.status === 'running');
        if (running) ({ id, pid } = running);
        return !!running;
      }, 'the RUN container');
      child.kill('SIGKILL');
      await exited;
      // killing the build does not stop its container: that is the leftover
      expect(existsSync(`/proc/${pid}`)).toBe(true);

      // a runtime dir is swept once it has been still for a few seconds (a build may be making it)
      // (any build sweeps it, so one running beside this test may do it first: then it is gone already)
      const lastChange = (): number =>
        Math.max(
          ...[runtimeA, join(runtimeA, 'tmp'), runcA].map((d) => statSync(d, { throwIfNoEntry: false })?.mtimeMs ?? 0),
        );
      await until(() => !existsSync(runtimeA) || Date.now() - lastChange() > 6000, 'the runtime dir to settle', 30_000);
      // builds look through their siblings once in five minutes (sweep.ts siblingSweepDue): make it due
      rmSync(join(dirname(runtimeA), '.siblings-swept'), { force: true });
      const ctxB = await context('other', `FROM ${FROM_BASE}\nCOPY a /a\n`, { a: 'b' });
      const r = await runCli(['--progress=plain', ctxB], { env: { TSBUILD_ROOT: join(dir, `state-b-${runtime}`) } });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(existsSync(runtimeA)).toBe(false);
      await until(
        () => !existsSync(`/proc/${pid}`) || readFileSafe(`/proc/${pid}/stat`).includes(') Z'),
        `container ${id} to be gone`,
        10_000,
      );
    },
    240_000,
  );
});

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
