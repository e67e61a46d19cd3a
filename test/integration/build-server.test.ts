/**
 * The warm build server, forced on here (TSBUILD_SERVER=1; build-server-default.test.ts has it as
 * users get it): builds handed to it give what a daemonless build gives, Ctrl-C of the client
 * cancels the server's build, the server exits when idle, and daemonless builds (and prune) share
 * the state dir with it. Each test has its own runtime dir (XDG_RUNTIME_DIR), so its own server,
 * socket and log.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALLOW_FIXTURE_BASES, FROM_BASE, runCli, TSBUILD } from '../helpers/build-fixture.js';
import { startCli } from '../torture/lib/child.js';
import {
  servedBuilds as buildsServed,
  pidAlive,
  serverFiles,
  serverLogs,
  waitFor as waitUntil,
  writeServerContext,
} from '../helpers/build-server-rig.js';

let dir: string;
let runtime: string;
let context: string;
let stateRoot: string;
const EPOCH = { SOURCE_DATE_EPOCH: '1700000000' };
const hasScript = spawnSync('sh', ['-c', 'command -v script'], { stdio: 'ignore' }).status === 0;

const serverEnv = (more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  TSBUILD_SERVER: '1',
  XDG_RUNTIME_DIR: runtime,
  TSBUILD_ROOT: stateRoot,
  // a server a failed test leaves behind goes away on its own
  TSBUILD_SERVER_IDLE: '60',
  ...EPOCH,
  ...more,
});

const serverFile = (ext: string): string | undefined => serverFiles(runtime, ext)[0];
const serverLog = (): string => serverLogs(runtime);
const servedBuilds = (): number => buildsServed(serverLog());
const waitFor = (what: string, ok: () => boolean, ms?: number): Promise<void> => waitUntil(what, ok, serverLog, ms);

/** The first build with TSBUILD_SERVER=1 runs in its own process and starts the server. */
async function startServer(): Promise<void> {
  const first = await runCli(['-q', context], { env: serverEnv() });
  expect(first.exitCode, first.stderr).toBe(0);
  await waitFor('the server to listen', () => /listening on/.test(serverLog()));
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-server-'));
  runtime = join(dir, 'run');
  context = join(dir, 'context');
  stateRoot = join(dir, 'state');
  await writeServerContext(context);
});

afterEach(async () => {
  // a server still starting has its log before its pid file
  if (serverFile('.log')) await waitFor('the pid file', () => serverFile('.pid') !== undefined, 5_000).catch(() => {});
  const pidFile = serverFile('.pid');
  if (pidFile && existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (pid > 0 && pidAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  await rm(dir, { recursive: true, force: true });
});

describe('build server', () => {
  it('gives the same image, output and exit codes as a daemonless build', async () => {
    const daemonlessRoot = join(dir, 'state-daemonless');
    const daemonless = await runCli(['--progress=plain', '-t', 'srv:t', context], {
      env: { TSBUILD_ROOT: daemonlessRoot, ...EPOCH },
    });
    expect(daemonless.exitCode, daemonless.stderr).toBe(0);
    await startServer();
    expect(servedBuilds()).toBe(0);
    expect(statSync(serverFile('.sock')!).mode & 0o777).toBe(0o600);

    // a miss (new content) and then a hit, both built by the server
    await writeFile(join(context, 'a.txt'), 'two\n');
    const miss = await runCli(['--progress=plain', '-t', 'srv:t', context], { env: serverEnv() });
    expect(miss.exitCode, miss.stderr).toBe(0);
    expect(miss.stderr).toMatch(/RUN cat/);
    await writeFile(join(context, 'a.txt'), 'one\n');
    const served = await runCli(['--progress=plain', '-t', 'srv:t', context], { env: serverEnv() });
    expect(served.exitCode, served.stderr).toBe(0);
    expect(servedBuilds()).toBe(2);
    const digests = (s: string): string[] => s.split('\n').filter((l) => /^(image|manifest) sha256:/.test(l));
    expect(digests(served.stderr)).toEqual(digests(daemonless.stderr));
    expect(digests(served.stderr)).toHaveLength(2);

    // stdout and stderr arrive on their own streams; a user error keeps its exit code
    const quiet = await runCli(['-q', context], { env: serverEnv() });
    expect(quiet.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const bad = await runCli(['-f', join(context, 'missing.Dockerfile'), context], { env: serverEnv() });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/missing\.Dockerfile/);
    expect(servedBuilds()).toBe(4);
  }, 120_000);

  it.skipIf(!hasScript)(
    "draws the tty progress for the client's terminal size, as a daemonless build does",
    async () => {
      await startServer();
      // a 6-row terminal: the frame is cut to fit it, which needs the client's rows
      const inTerminal = (mode: string): string => {
        const typescript = join(dir, `tty-${mode}`);
        execFileSync(
          'script',
          ['-qc', `stty rows 6 cols 70; ${TSBUILD} ${ALLOW_FIXTURE_BASES.join(' ')} ${context}`, typescript],
          {
            env: { ...process.env, ...serverEnv({ TSBUILD_SERVER: mode }) },
            stdio: 'ignore',
          },
        );
        const text = readFileSync(typescript, 'utf8');
        // the last frame (how many came before depends on the timing), without script's last line and the times
        const last = text.slice(text.lastIndexOf('[+] Building'));
        return last
          .split('\n')
          .slice(0, -2)
          .join('\n')
          .replace(/\d+\.\d+s/g, 'T');
      };
      const daemonless = inTerminal('0');
      const served = inTerminal('1');
      expect(servedBuilds()).toBe(1);
      expect(served).toBe(daemonless);
      expect(served).toMatch(/\[\+\] Building T \(\d+\/\d+\) FINISHED/);
    },
    60_000,
  );

  it('cancels the build in the server on Ctrl-C, and stays up for the next', async () => {
    await startServer();
    // a duration of its own, to find its process among what else runs on the machine
    await writeFile(join(context, 'Dockerfile'), `FROM ${FROM_BASE}\nRUN sleep 67\n`);
    const sleeping = (): boolean => /^sleep 67$/m.test(execFileSync('ps', ['-eo', 'args']).toString());
    const cancelOnce = async (): Promise<void> => {
      const child = startCli(['--progress=plain', context], { env: serverEnv() });
      await waitFor('the RUN step to start', sleeping, 30_000);
      child.signal('SIGINT');
      const outcome = await child.result;
      expect(outcome.exitCode).toBe(130);
      expect(outcome.ms).toBeLessThan(30_000);
      expect(outcome.stderr).toMatch(/SIGINT: cancelling the build/);
      expect(outcome.stderr).toMatch(/the build was interrupted/);
      await waitFor('the server to finish the cancelled build', () => !sleeping() && !busy());
    };
    const busy = (): boolean => servedBuilds() < cancelled;
    let cancelled = 1;
    await cancelOnce();
    // the same step again: the cancelled build left no lock or lease that holds it back
    cancelled = 2;
    await cancelOnce();
    expect(serverLog().match(/ exited 130/g)).toHaveLength(2);

    await writeFile(join(context, 'Dockerfile'), `FROM ${FROM_BASE}\nRUN echo after\n`);
    const next = await runCli(['--progress=plain', context], { env: serverEnv() });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(servedBuilds()).toBe(3);
  }, 120_000);

  it('exits when idle, removing its socket', async () => {
    await runCli(['-q', context], { env: serverEnv({ TSBUILD_SERVER_IDLE: '1' }) });
    await waitFor('the server to listen', () => /listening on/.test(serverLog()));
    const pid = Number(readFileSync(serverFile('.pid')!, 'utf8'));
    expect(pidAlive(pid)).toBe(true);
    await waitFor('the server to exit', () => !pidAlive(pid), 10_000);
    expect(serverFile('.sock')).toBeUndefined();
    // the next build runs daemonless and starts a new server
    const again = await runCli(['-q', context], { env: serverEnv({ TSBUILD_SERVER_IDLE: '1' }) });
    expect(again.exitCode, again.stderr).toBe(0);
  }, 60_000);

  it('stops on kill, removing its socket', async () => {
    await startServer();
    const pid = Number(readFileSync(serverFile('.pid')!, 'utf8'));
    process.kill(pid, 'SIGTERM');
    await waitFor('the server to exit', () => !pidAlive(pid), 10_000);
    expect(serverFile('.sock')).toBeUndefined();
  }, 60_000);

  it('shares the state dir with daemonless builds and prune', async () => {
    await startServer();
    await writeFile(join(context, 'Dockerfile.two'), `FROM ${FROM_BASE}\nRUN echo two > /two.txt\n`);
    // one through the server and one daemonless at once, on the same state dir
    const [viaServer, daemonless] = await Promise.all([
      runCli(['--progress=plain', '-t', 'srv:one', context], { env: serverEnv() }),
      runCli(['--progress=plain', '-t', 'srv:two', '-f', join(context, 'Dockerfile.two'), context], {
        env: { TSBUILD_ROOT: stateRoot, ...EPOCH },
      }),
    ]);
    expect(viaServer.exitCode, viaServer.stderr).toBe(0);
    expect(daemonless.exitCode, daemonless.stderr).toBe(0);
    expect(servedBuilds()).toBe(1);
    // the server sees the daemonless build's cache, and a prune by another process
    const hit = await runCli(['--progress=plain', '-f', join(context, 'Dockerfile.two'), context], {
      env: serverEnv(),
    });
    expect(hit.exitCode, hit.stderr).toBe(0);
    expect(hit.stderr).toMatch(/RUN echo two[^\n]*\n(#\d+ )?CACHED/);
    const prune = await runCli(['prune', '--all', '--force'], { env: { TSBUILD_ROOT: stateRoot } });
    expect(prune.exitCode, prune.stderr).toBe(0);
    const rebuilt = await runCli(['--progress=plain', '-f', join(context, 'Dockerfile.two'), context], {
      env: serverEnv(),
    });
    expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).not.toMatch(/CACHED/);
    expect(servedBuilds()).toBe(3);
  }, 120_000);
});
