import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, REPO_ROOT, runCli, type CliResult, type Fixture } from '../helpers/build-fixture.js';

/**
 * The machine's fault, not the Dockerfile's and not tsbuild's: exit 1 and a message that says
 * what to do, never "internal error … this is a bug" (exit 70).
 */
const isRoot = process.getuid?.() === 0;
const hasSetpriv = (() => {
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** An ordinary user to run tsbuild as (made if missing; needs root). */
const TEST_USER = 'tsbuild-nonroot';
let testUid = -1;
let testGid = -1;
beforeAll(() => {
  if (!isRoot) return;
  try {
    execFileSync('id', ['-u', TEST_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', TEST_USER]);
  }
  testUid = Number(execFileSync('id', ['-u', TEST_USER], { encoding: 'utf8' }));
  testGid = Number(execFileSync('id', ['-g', TEST_USER], { encoding: 'utf8' }));
});

/**
 * The CLI where the ordinary user can run it: the checkout may sit below a directory only root
 * may enter (a clone in a mktemp dir), so the launcher and the built bundle are copied to one of
 * their own (timestamps kept: bin/tsbuild.cjs takes the bundle only while it is current).
 */
let userCliDir: string | undefined;
async function cliForUser(): Promise<string> {
  if (!userCliDir) {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-cli-'));
    await chmod(dir, 0o755);
    for (const part of ['bin', 'dist', 'package.json']) {
      await cp(join(REPO_ROOT, part), join(dir, part), { recursive: true, preserveTimestamps: true });
    }
    userCliDir = dir;
  }
  return join(userCliDir, 'bin', 'tsbuild');
}
afterAll(async () => {
  if (userCliDir) await rm(userCliDir, { recursive: true, force: true });
});

/** Root without the capabilities that let it read and write what other users own. */
const ROOT_WITHOUT_DAC = ['setpriv', '--bounding-set=-dac_override,-dac_read_search', '--'];

function expectEnvironmentError(res: CliResult, message: RegExp, hint: RegExp): void {
  expect(res.exitCode, res.stderr).toBe(1);
  expect(res.stderr).not.toMatch(/internal error|this is a bug/);
  expect(res.stderr).toMatch(message);
  expect(res.stderr).toMatch(hint);
}

/** A directory holding a link to every command on PATH but `missing`: node, sh and the rest stay reachable. */
async function pathWithout(dir: string, missing: string[]): Promise<string> {
  const bin = join(dir, `bin-without-${missing.join('-')}`);
  await mkdir(bin, { recursive: true });
  const seen = new Set(missing);
  for (const d of (process.env.PATH ?? '').split(':')) {
    for (const name of await readdir(d).catch(() => [] as string[])) {
      if (seen.has(name)) continue;
      seen.add(name);
      await symlink(join(d, name), join(bin, name));
    }
  }
  return bin;
}

describe('environment errors', () => {
  let fx: Fixture | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });

  describe('a missing system tool names itself and its Debian package', () => {
    const withoutTool = async (
      tool: string,
      dockerfile: string,
      extraArgs: string[] = [],
      env: NodeJS.ProcessEnv = {},
    ): Promise<CliResult> => {
      fx = await makeFixture({ Dockerfile: dockerfile, a: 'x\n' });
      return fx.build(extraArgs, { env: { PATH: await pathWithout(fx.dir, [tool]), ...env } });
    };

    // runc named: where crun is installed, a root build without runc runs its steps under crun
    it('runc, at the RUN step; --debug shows the whole cause chain', async () => {
      const res = await withoutTool('runc', `FROM ${FROM_BASE}\nRUN true\n`, [], { TSBUILD_RUNTIME: 'runc' });
      expectEnvironmentError(
        res,
        /Dockerfile:2:1: .*RUN true: runc is not installed \(or not on PATH\)/,
        /hint: install it \(apt-get install runc\)/,
      );
      expect(res.stderr).not.toMatch(/\n\s+at /);
      const debug = await fx!.build(['--debug'], {
        env: { PATH: await pathWithout(join(fx!.dir, 'again'), ['runc']), TSBUILD_RUNTIME: 'runc' },
      });
      // located at the step → the error runc's start made → spawn's ENOENT, each with its stack
      expect(debug.stderr).toMatch(/\nEnvironmentError: \[stage-0 2\/2\] RUN true: runc is not installed.*\n\s+at /);
      expect(debug.stderr).toMatch(/\ncaused by: EnvironmentError: runc is not installed.*\n\s+at /);
      expect(debug.stderr).toMatch(/\ncaused by: Error: spawn runc ENOENT\n\s+at /);
    });

    it('crun, when TSBUILD_RUNTIME=crun asks for it', async () => {
      const res = await withoutTool('crun', `FROM ${FROM_BASE}\nRUN true\n`, [], { TSBUILD_RUNTIME: 'crun' });
      expectEnvironmentError(
        res,
        /Dockerfile:2:1: .*RUN true: TSBUILD_RUNTIME=crun, but crun cannot run this step: crun is not installed \(apt-get install crun\)/,
        /hint: unset TSBUILD_RUNTIME \(or set it to runc\)/,
      );
    });

    it('getfattr, making the layer blobs', async () => {
      const res = await withoutTool('getfattr', `FROM ${FROM_BASE}\nCOPY a /a\n`);
      expectEnvironmentError(res, /getfattr is not installed \(or not on PATH\)/, /apt-get install attr\b/);
    });

    it('mount, at the step that mounts a layer chain', async () => {
      const res = await withoutTool('mount', `FROM ${FROM_BASE}\nCOPY --chown=nobody a /a\n`);
      expectEnvironmentError(
        res,
        /Dockerfile:2:1: .*COPY --chown=nobody a \/a: mount is not installed/,
        /apt-get install mount\b/,
      );
    });

    it('zstd, for zstd-compressed layers', async () => {
      fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nCOPY a /a\n`, a: 'x\n' });
      const res = await fx.build(['-o', `type=oci,dest=${join(fx.dir, 'z.tar')},compression=zstd`], {
        env: { PATH: await pathWithout(fx.dir, ['zstd']) },
      });
      expectEnvironmentError(
        res,
        /zstd is not installed \(or not on PATH\): compressing layers with zstd needs it/,
        /apt-get install zstd\b/,
      );
    });
  });

  describe('environment variables', () => {
    it('a TSBUILD_CACHE_MAX that is not a size fails before the build', async () => {
      fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN true\n` });
      const res = await fx.build([], { env: { TSBUILD_CACHE_MAX: 'lots' } });
      expectEnvironmentError(res, /error: TSBUILD_CACHE_MAX=lots: not a size/, /hint: set TSBUILD_CACHE_MAX to a size/);
      expect(res.stderr).not.toMatch(/RUN true/);
      expect(existsSync(fx.stateRoot)).toBe(false);
    });

    it('a bad TSBUILD_PIDS_LIMIT or TSBUILD_REGISTRY_TIMEOUTS fails before the build, not at the first RUN or pull', async () => {
      fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN true\n` });
      for (const [env, message, hint] of [
        [
          { TSBUILD_PIDS_LIMIT: 'lots' },
          /TSBUILD_PIDS_LIMIT="lots" is not a number of processes/,
          /whole number of at least 1/,
        ],
        [{ TSBUILD_REGISTRY_TIMEOUTS: 'soon' }, /TSBUILD_REGISTRY_TIMEOUTS: cannot use "soon"/, /NAME=NUMBER pairs/],
      ] as const) {
        const res = await fx.build([], { env });
        expectEnvironmentError(res, message, hint);
        expect(res.stderr).not.toMatch(/RUN true/);
        expect(existsSync(fx.stateRoot)).toBe(false);
      }
    });

    it('a TSBUILD_ROOT or TSBUILD_RUNTIME_DIR that is a file', async () => {
      fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN true\n` });
      const file = join(fx.dir, 'a-file');
      await writeFile(file, '');
      expectEnvironmentError(
        await fx.build([], { env: { TSBUILD_ROOT: file } }),
        /TSBUILD_ROOT=.*a-file is not a directory/,
        /point TSBUILD_ROOT at a directory/,
      );
      expectEnvironmentError(
        await fx.build([], { env: { TSBUILD_RUNTIME_DIR: join(file, 'run') } }),
        /TSBUILD_RUNTIME_DIR=.*a-file\/run is not a directory \(a path above it is a file\)/,
        /point TSBUILD_RUNTIME_DIR/,
      );
    });

    it('relative TSBUILD_ROOT and TSBUILD_RUNTIME_DIR are taken from the working directory, RUN steps included', async () => {
      fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN echo hi > /hi\n` });
      const res = await runCli(['--progress=plain', '-o', `type=oci,dest=${fx.archive}`, 'context'], {
        cwd: fx.dir,
        env: { TSBUILD_ROOT: 'rel-state', TSBUILD_RUNTIME_DIR: 'rel-run' },
      });
      expect(res.exitCode, res.stderr).toBe(0);
      expect(existsSync(join(fx.dir, 'rel-state', 'content'))).toBe(true);
    });
  });

  describe.runIf(isRoot && hasSetpriv)('permissions', () => {
    it('an ordinary user whose state dir it may not write is told so (isolation chroot, chosen by itself), before anything is written', async () => {
      const granted = (f: string) => existsSync(f) && new RegExp(`^${TEST_USER}:`, 'm').test(readFileSync(f, 'utf8'));
      if (granted('/etc/subuid') || granted('/etc/subgid')) return;
      fx = await makeFixture({ Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'x\n' });
      const res = await fx.build([], {
        wrapper: ['setpriv', `--reuid=${testUid}`, `--regid=${testGid}`, '--clear-groups'],
        launcher: await cliForUser(),
      });
      expect(res.stderr.split('\n')[0]).toMatch(/^isolation chroot/);
      expectEnvironmentError(
        res,
        /error: isolation chroot cannot write to \S+ \(on the way to \S+\/tmp\): EACCES/,
        /hint: point TSBUILD_ROOT at a directory this user may write to/,
      );
      expect(existsSync(fx.stateRoot)).toBe(false);
    });

    it('an ordinary user is told --isolation runc needs root, before anything is written', async () => {
      fx = await makeFixture({ Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'x\n' });
      const res = await fx.build(['--isolation', 'runc'], {
        wrapper: ['setpriv', `--reuid=${testUid}`, `--regid=${testGid}`, '--clear-groups'],
        launcher: await cliForUser(),
      });
      expectEnvironmentError(
        res,
        new RegExp(`error: --isolation runc needs root \\(this is uid ${testUid}\\)`),
        /hint: run it as root or with sudo, or leave out --isolation runc to build rootless/,
      );
      expect(existsSync(fx.stateRoot)).toBe(false);
    });

    it('an ordinary user without subordinate ids is told what rootless mode needs, before anything is written', async () => {
      // the test user is made without any (useradd --system); a machine that gave it some has nothing to show here
      const granted = (f: string) => existsSync(f) && new RegExp(`^${TEST_USER}:`, 'm').test(readFileSync(f, 'utf8'));
      if (granted('/etc/subuid') || granted('/etc/subgid')) return;
      fx = await makeFixture({ Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'x\n' });
      // without --isolation such a user gets chroot (the next test); rootless asked for says what it lacks
      const res = await fx.build(['--isolation', 'rootless'], {
        wrapper: ['setpriv', `--reuid=${testUid}`, `--regid=${testGid}`, '--clear-groups'],
        launcher: await cliForUser(),
      });
      expectEnvironmentError(
        res,
        new RegExp(
          `error: rootless mode needs subordinate ids for ${TEST_USER} \\(uid ${testUid}\\) in /etc/subuid and /etc/subgid`,
        ),
        /hint: as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535/,
      );
      expect(existsSync(fx.stateRoot)).toBe(false);
    });

    it('prune by an ordinary user on a state dir a build made as root', async () => {
      fx = await makeFixture({ Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'x\n' });
      expect((await fx.build()).exitCode).toBe(0);
      await chmod(fx.dir, 0o755);
      const res = await runCli(['prune'], {
        env: { TSBUILD_ROOT: fx.stateRoot },
        wrapper: ['setpriv', `--reuid=${testUid}`, `--regid=${testGid}`, '--clear-groups'],
        launcher: await cliForUser(),
      });
      expectEnvironmentError(
        res,
        /cannot use the state directory .*state \(TSBUILD_ROOT\): permission denied \(.*locks/,
        /hint: make it writable by the user tsbuild runs as/,
      );
    });

    /** A directory of the ordinary user's that only it may enter. */
    const foreignDir = async (fixture: Fixture): Promise<string> => {
      const dir = join(fixture.dir, 'theirs');
      await mkdir(dir);
      await chown(dir, testUid, testGid);
      await chmod(dir, 0o700);
      return dir;
    };

    it('a state dir this user may not write', async () => {
      fx = await makeFixture({ Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'x\n' });
      const theirs = await foreignDir(fx);
      const res = await fx.build([], { env: { TSBUILD_ROOT: join(theirs, 'state') }, wrapper: ROOT_WITHOUT_DAC });
      expectEnvironmentError(
        res,
        /cannot use the state directory .*theirs\/state \(TSBUILD_ROOT\): permission denied/,
        /hint: make it writable by the user tsbuild runs as, or point TSBUILD_ROOT/,
      );
    });

    it('an output this user may not write', async () => {
      fx = await makeFixture({ Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'x\n' });
      const theirs = await foreignDir(fx);
      const oci = await fx.build(['-o', `type=oci,dest=${join(theirs, 'image.tar')}`], { wrapper: ROOT_WITHOUT_DAC });
      expectEnvironmentError(
        oci,
        /cannot write the OCI archive .*theirs\/image\.tar: permission denied \(/,
        /hint: write the output where this user may write/,
      );
      const local = await fx.build(['-o', `type=local,dest=${join(theirs, 'rootfs')}`], { wrapper: ROOT_WITHOUT_DAC });
      expectEnvironmentError(
        local,
        /cannot write the root filesystem to .*theirs\/rootfs: permission denied \(/,
        /hint: write the output where this user may write/,
      );
    });

    it('a context file this user may not read, at the COPY that reads it', async () => {
      fx = await makeFixture({ Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'x\n' });
      await chown(join(fx.context, 'a'), testUid, testGid);
      await chmod(join(fx.context, 'a'), 0o600);
      const res = await fx.build([], { wrapper: ROOT_WITHOUT_DAC });
      expectEnvironmentError(
        res,
        /Dockerfile:2:1: .*COPY a \/a: cannot read the build context: permission denied \(.*context\/a\)/,
        /hint: make it readable by the user tsbuild runs as, or leave it out of the context with \.dockerignore/,
      );
    });
  });
});
