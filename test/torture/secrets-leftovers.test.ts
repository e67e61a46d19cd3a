/**
 * RUN --mount=type=secret values live on a memory-backed filesystem while their step runs and
 * nowhere after it: not in the state dir after a build, nor after a SIGKILL in the middle of the
 * step (issue 10, point 11), and the next build sweeps what the killed one left in memory.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stateDirId } from '../../src/store/state-paths.js';
import { ALLOW_FIXTURE_BASES, FROM_BASE, makeFixture, TSBUILD, type Fixture } from '../helpers/build-fixture.js';

/** Every regular file under `dir` whose bytes contain `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d).catch(() => [] as string[])) {
      const p = join(d, name);
      const st = await lstat(p).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) await walk(p);
      else if (st.isFile() && (await readFile(p).catch(() => Buffer.alloc(0))).includes(needle)) found.push(p);
    }
  };
  await walk(dir);
  return found;
}

async function running(marker: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    for (const pid of await readdir('/proc')) {
      if (
        /^\d+$/.test(pid) &&
        (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')) === `sleep\0${marker}\0`
      )
        return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the RUN step did not start');
}

describe('secrets leave nothing behind', () => {
  let fx: Fixture | undefined;
  let runtimeDir: string | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    if (runtimeDir) await rm(runtimeDir, { recursive: true, force: true });
    fx = undefined;
    runtimeDir = undefined;
  });

  it('keeps the secret on a tmpfs during the step and nowhere in the state dir after it', async () => {
    const value = `s3cret-${randomBytes(12).toString('hex')}`;
    fx = await makeFixture({
      Dockerfile: `FROM ${FROM_BASE}\nRUN --mount=type=secret,id=s grep " /run/secrets/s " /proc/self/mountinfo > /mountinfo && wc -c < /run/secrets/s > /len\n`,
    });
    const secretFile = join(fx.dir, 'secret.txt');
    await writeFile(secretFile, value);
    const res = await fx.build(['--secret', `id=s,src=${secretFile}`]);
    expect(res.exitCode, res.stderr).toBe(0);
    const img = await fx.unpack();
    expect((await img.read('/len')).trim()).toBe(String(value.length));
    // mountinfo: "… - FSTYPE SOURCE OPTIONS"
    expect((await img.read('/mountinfo')).split(' - ')[1]?.split(' ')[0]).toMatch(/^(tmpfs|ramfs)$/);
    expect(await filesContaining(fx.stateRoot, value)).toEqual([]);
    expect(existsSync(`/dev/shm/tsbuild-${stateDirId(fx.stateRoot)}`)).toBe(false);

    // with the runtime dir on a tmpfs, the secret goes there
    runtimeDir = await mkdtemp('/dev/shm/tsbuild-test-runtime-');
    const again = await fx.build(['--no-cache', '--secret', `id=s,src=${secretFile}`], {
      env: { TSBUILD_RUNTIME_DIR: runtimeDir },
    });
    expect(again.exitCode, again.stderr).toBe(0);
    const mi = await (await fx.unpack()).read('/mountinfo');
    expect(mi.split(' - ')[1]?.split(' ')[0]).toBe('tmpfs');
    expect(mi.split(' ')[3]).toContain(`${runtimeDir.slice('/dev/shm'.length)}/tmp/`);
    expect(await filesContaining(fx.stateRoot, value)).toEqual([]);
    expect(await filesContaining(runtimeDir, value)).toEqual([]);
  }, 60_000);

  it('after a SIGKILL in the middle of the step, the state dir holds no secret; the next build sweeps memory', async () => {
    const value = `s3cret-${randomBytes(12).toString('hex')}`;
    const marker = String(4000 + (process.pid % 1000));
    fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN --mount=type=secret,id=s sleep ${marker}\n` });
    const secretFile = join(fx.dir, 'secret.txt');
    await writeFile(secretFile, value);
    const child = spawn(
      TSBUILD,
      [
        ...ALLOW_FIXTURE_BASES,
        '--progress=plain',
        '--secret',
        `id=s,src=${secretFile}`,
        '-o',
        `type=oci,dest=${fx.archive}`,
        fx.context,
      ],
      {
        env: { ...process.env, TSBUILD_ROOT: fx.stateRoot },
        stdio: 'ignore',
      },
    );
    const exited = new Promise((r) => child.on('exit', r));
    await running(marker, 30_000);
    child.kill('SIGKILL');
    await exited;
    expect(await filesContaining(fx.stateRoot, value)).toEqual([]);

    // the next build on the state dir stops the orphan step and removes the secret from memory
    await writeFile(join(fx.context, 'Dockerfile'), `FROM ${FROM_BASE}\nRUN true\n`);
    const next = await fx.build();
    expect(next.exitCode, next.stderr).toBe(0);
    expect(await filesContaining(fx.stateRoot, value)).toEqual([]);
    expect(await filesContaining('/dev/shm', value)).toEqual([]);
    expect(await filesContaining('/run/tsbuild', value)).toEqual([]);
  }, 60_000);
});
