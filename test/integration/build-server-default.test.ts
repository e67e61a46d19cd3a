/**
 * The build server as users get it, on by default: TSBUILD_SERVER and CI unset (the other tests
 * run daemonless, test/helpers/build-fixture.ts DAEMONLESS_ENV). Builds handed to it give the
 * daemonless images; CI=true keeps builds in their own process; and what default-on meets on a
 * real machine is survived: a state dir deleted and made again between builds, a server killed in
 * the middle of a build (its socket left behind), a runtime dir that cannot be written, a build
 * started in other namespaces, a socket file taken over by a newer server. Each test has its own
 * runtime dir (XDG_RUNTIME_DIR), so its own servers, sockets and logs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALLOW_FIXTURE_BASES, FROM_BASE, runCli, TSBUILD } from '../helpers/build-fixture.js';
import { sleep, startCli } from '../torture/lib/child.js';
import {
  servedBuilds as buildsServed,
  serverFiles as filesOfServers,
  pidAlive,
  serverLogs,
  waitFor as waitUntil,
  writeServerContext,
} from '../helpers/build-server-rig.js';

let dir: string;
let runtime: string;
let context: string;
let stateRoot: string;
/** Read-only mounts a test made, unmounted after it. */
let mounts: string[] = [];
const EPOCH = { SOURCE_DATE_EPOCH: '1700000000' };

/** The environment of a user's shell: no TSBUILD_SERVER, no CI. */
const userEnv = (more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  TSBUILD_SERVER: undefined,
  CI: undefined,
  XDG_RUNTIME_DIR: runtime,
  TSBUILD_ROOT: stateRoot,
  // a server a failed test leaves behind goes away on its own
  TSBUILD_SERVER_IDLE: '30',
  ...EPOCH,
  ...more,
});

const serverFiles = (ext: string): string[] => filesOfServers(runtime, ext);
const logs = (): string => serverLogs(runtime);
const servedBuilds = (log = logs()): number => buildsServed(log);
/** What the servers logged since `pid` started listening (servers of one install and namespaces share a log). */
const logSince = (pid: number): string => logs().split(`tsbuild server ${pid} listening`)[1] ?? '';
const listening = (log = logs()): number[] =>
  [...log.matchAll(/tsbuild server (\d+) listening on/g)].map((m) => Number(m[1]));

const waitFor = (what: string, ok: () => boolean, ms?: number): Promise<void> => waitUntil(what, ok, logs, ms);

/** A build as a user runs it; it must succeed. */
async function build(args: string[], env: NodeJS.ProcessEnv = userEnv()): Promise<string> {
  const r = await runCli([...(args.includes('-q') ? [] : ['--progress=plain']), ...args, context], { env });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stderr;
}
const digests = (stderr: string): string[] => stderr.split('\n').filter((l) => /^(image|manifest) sha256:/.test(l));

/** The first build starts the server; resolves once it listens. */
async function startServer(): Promise<number> {
  await build(['-q']);
  await waitFor('the server to listen', () => listening().length > 0);
  return listening()[0]!;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-server-default-'));
  runtime = join(dir, 'run');
  context = join(dir, 'context');
  stateRoot = join(dir, 'state');
  await writeServerContext(context);
});

afterEach(async () => {
  // a server still starting has its log before its pid file; then every server any log names
  await sleep(300);
  for (const pid of listening()) {
    const isOurs = (): boolean => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('tsbuild.cjs');
      } catch {
        return false;
      }
    };
    if (pidAlive(pid) && isOurs()) process.kill(pid, 'SIGKILL');
  }
  for (const m of mounts) execFileSync('umount', [m]);
  mounts = [];
  await rm(dir, { recursive: true, force: true });
});

describe('the build server, on by default', () => {
  it('takes builds when neither TSBUILD_SERVER nor CI is set, with the images of daemonless builds', async () => {
    const daemonless = await build(['-t', 'srv:t'], { TSBUILD_ROOT: join(dir, 'state-daemonless'), ...EPOCH });
    expect(serverFiles('.sock')).toEqual([]);
    await startServer();
    expect(servedBuilds()).toBe(0);
    await writeFile(join(context, 'a.txt'), 'two\n');
    const miss = await build(['-t', 'srv:t']);
    expect(miss).toMatch(/RUN cat/);
    await writeFile(join(context, 'a.txt'), 'one\n');
    const served = await build(['-t', 'srv:t']);
    expect(servedBuilds()).toBe(2);
    expect(digests(served)).toHaveLength(2);
    expect(digests(served)).toEqual(digests(daemonless));
  }, 120_000);

  it('is handed builds by the Perl client where perl is installed, and by node’s client where it is not', async () => {
    await startServer();
    await build(['-t', 'srv:t']);
    expect(logs()).toMatch(/ build in \S+ \(perl client\) exited 0\n/);
    // node's client: the launcher without perl on its PATH (a bin dir of links to all else it needs)
    const bin = join(dir, 'bin-without-perl');
    await mkdir(bin);
    for (const tool of ['node', 'readlink'])
      await symlink(
        execFileSync('sh', ['-c', `command -v ${tool}`])
          .toString()
          .trim(),
        join(bin, tool),
      );
    const before = servedBuilds();
    const r = await runCli(['--progress=plain', '-t', 'srv:t', context], { env: userEnv({ PATH: bin }) });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(servedBuilds()).toBe(before + 1);
    expect(logs().trimEnd().split('\n').pop()).toMatch(/ build in \S+ exited 0$/);
  }, 120_000);

  it('stays out of CI: CI=true builds in its own process and starts no server', async () => {
    for (const ci of ['true', '1']) await build(['-q'], userEnv({ CI: ci }));
    await sleep(1000); // a server started in the background would have made its dir by now
    expect(existsSync(join(runtime, 'tsbuild'))).toBe(false);
    // CI=false is not CI
    await build(['-q'], userEnv({ CI: 'false' }));
    await waitFor('the server to listen', () => listening().length === 1);
  }, 60_000);

  it('gives correct builds on a state dir deleted and made again at the same path between builds', async () => {
    await startServer();
    const first = await build(['-t', 'srv:t']);
    expect(servedBuilds()).toBe(1);
    for (let round = 0; round < 2; round++) {
      await rm(stateRoot, { recursive: true, force: true });
      await mkdir(stateRoot);
      const again = await build(['-t', 'srv:t']);
      expect(again).not.toMatch(/CACHED/);
      expect(digests(again)).toEqual(digests(first));
      const hit = await build(['-t', 'srv:t']);
      expect(hit).toMatch(/RUN cat[^\n]*\n(#\d+ )?CACHED/);
      expect(digests(hit)).toEqual(digests(first));
    }
    expect(servedBuilds()).toBe(5);
  }, 180_000);

  it('reports a server killed during a build; the next build replaces its socket', async () => {
    const pid = await startServer();
    const marker = String(5000 + (process.pid % 1000));
    await writeFile(join(context, 'Dockerfile'), `FROM ${FROM_BASE}\nRUN sleep ${marker}\n`);
    const sleeper = (): number | undefined => {
      const line = execFileSync('ps', ['-eo', 'pid=,args='])
        .toString()
        .split('\n')
        .find((l) => l.trim().endsWith(`sleep ${marker}`));
      return line ? Number(line.trim().split(/\s+/)[0]) : undefined;
    };
    try {
      const child = startCli(['--progress=plain', context], { env: userEnv() });
      await waitFor('the RUN step to start', () => sleeper() !== undefined, 30_000);
      process.kill(pid, 'SIGKILL');
      const outcome = await child.result;
      expect(outcome.exitCode).toBe(70);
      expect(outcome.stderr).toMatch(/the tsbuild server stopped during the build; its log is .*server-[0-9a-f]+\.log/);
    } finally {
      const left = sleeper();
      if (left) process.kill(left, 'SIGKILL');
    }
    // the dead server's socket stays; nothing answers on it
    expect(serverFiles('.sock')).toHaveLength(1);
    await writeFile(join(context, 'Dockerfile'), `FROM ${FROM_BASE}\nRUN echo after\n`);
    await build([]);
    await waitFor('a new server', () => listening().length === 2);
    expect(pidAlive(listening()[1]!)).toBe(true);
    await build([]);
    expect(servedBuilds(logSince(listening()[1]!))).toBe(1);
  }, 120_000);

  it('builds in its own process, saying nothing, where the runtime dir cannot be written or is too deep for a socket', async () => {
    const readOnly = join(dir, 'ro');
    await mkdir(readOnly);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', readOnly]);
    mounts.push(readOnly);
    const aFile = join(dir, 'not-a-dir');
    await writeFile(aFile, '');
    // a socket path there would not fit in a unix socket's address (108 bytes)
    const deep = join(dir, 'd'.repeat(100));
    await mkdir(deep);
    for (const xdg of [readOnly, aFile, deep]) {
      const quiet = await runCli(['-q', context], { env: userEnv({ XDG_RUNTIME_DIR: xdg }) });
      expect(quiet.exitCode, quiet.stderr).toBe(0);
      expect(quiet.stderr).toBe('');
      const plain = await build([], userEnv({ XDG_RUNTIME_DIR: xdg }));
      expect(plain).not.toMatch(/tsbuild server|socket|EROFS|ENOTDIR|runtime dir/i);
    }
    expect(readdirSync(readOnly)).toEqual([]);
    expect(readdirSync(deep)).toEqual([]);
  }, 120_000);

  it('gives a build started in another network namespace a server of its own', async () => {
    // the first build runs with only a loopback network and starts a server there
    execFileSync(
      'unshare',
      ['--net', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', TSBUILD, ...ALLOW_FIXTURE_BASES, '-q', context],
      { env: { ...process.env, ...userEnv() }, stdio: 'ignore' },
    );
    await waitFor('the server to listen', () => listening().length === 1);
    const isolated = serverFiles('.log')[0]!;
    // a build in the host's namespaces is not handed to it (its RUN steps would have no network)
    await build([]);
    await build([]);
    await waitFor('a second server', () => listening().length === 2);
    expect(servedBuilds(readFileSync(isolated, 'utf8'))).toBe(0);
    expect(serverFiles('.sock')).toHaveLength(2);
  }, 120_000);

  it("TSBUILD_PEAK_RSS_FILE gets the build's own peak RSS: the process's, or the server's when served", async () => {
    const rssFile = join(dir, 'rss');
    const rss = async (): Promise<number[]> =>
      (await readFile(rssFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
    await build([], { TSBUILD_ROOT: stateRoot, TSBUILD_PEAK_RSS_FILE: rssFile, ...EPOCH });
    const daemonless = await rss();
    expect(daemonless).toHaveLength(1);
    expect(daemonless[0]).toBeGreaterThan(30_000); // kB: node with the bundle loaded
    expect(daemonless[0]).toBeLessThan(1_000_000);
    const server = await startServer();
    await rm(rssFile);
    await writeFile(join(context, 'a.txt'), 'two\n');
    await build([], userEnv({ TSBUILD_PEAK_RSS_FILE: rssFile }));
    expect(servedBuilds()).toBe(1);
    // one line, the server's: the client ran no build and says nothing
    const served = await rss();
    expect(served).toHaveLength(1);
    const status = readFileSync(`/proc/${server}/status`, 'utf8');
    // the kernel's two counts of it differ a little, and the server may have grown since
    const hwm = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1]);
    expect(served[0]).toBeLessThanOrEqual(hwm * 1.05);
    expect(served[0]).toBeGreaterThan(hwm * 0.9);
  }, 120_000);

  it('leaves the socket of a newer server that took its path when it stops', async () => {
    const older = await startServer();
    // its socket goes (a user's rm, a tmp cleaner): the next build starts another at that path
    await unlink(serverFiles('.sock')[0]!);
    await build([]);
    await waitFor('a second server', () => listening().length === 2);
    const newer = listening()[1]!;
    await waitFor('its pid file', () => readFileSync(serverFiles('.pid')[0]!, 'utf8').trim() === String(newer));
    process.kill(older, 'SIGTERM');
    await waitFor('the older server to exit', () => !pidAlive(older), 10_000);
    expect(serverFiles('.sock')).toHaveLength(1);
    expect(serverFiles('.pid')).toHaveLength(1);
    const before = servedBuilds();
    await build([]);
    expect(servedBuilds()).toBe(before + 1);
  }, 120_000);
});
