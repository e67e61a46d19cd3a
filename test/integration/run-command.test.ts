import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, runCli, TSBUILD, type Fixture } from '../helpers/build-fixture.js';

const exec = promisify(execFile);

/**
 * Drives a command in a pseudo-terminal (python's pty module): what it printed and its exit code;
 * with `after`, types `send` once the output shows `after`.
 */
const PTY_DRIVER = `
import json, os, pty, select, sys, time
cfg = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvpe(cfg['argv'][0], cfg['argv'], cfg['env'])
out, sent, deadline = b'', False, time.time() + 60
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if fd in r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        out += d
    if not sent and cfg.get('after') and cfg['after'].encode() in out:
        os.write(fd, cfg['send'].encode())
        sent = True
_, st = os.waitpid(pid, 0)
print(json.dumps({'code': os.waitstatus_to_exitcode(st), 'out': out.decode('utf8', 'replace')}))
`;

/** `tsbuild run` on a stored image built with -t: the process, its exit code, and nothing left behind. */
describe('tsbuild run', () => {
  let fx: Fixture;
  let state: string;
  let runtime: string;
  let vol: string;
  let env: NodeJS.ProcessEnv;
  const run = (args: string[], input?: string) =>
    runCli(['run', ...args], { env, ...(input !== undefined ? { input } : {}) });

  /** The CLI as a child of ours, to signal it; `ready` resolves once its stdout shows `text`. */
  function start(args: string[]): {
    child: ChildProcess;
    out: () => string;
    ready: (text: string) => Promise<void>;
    done: Promise<number>;
  } {
    const child = spawn(TSBUILD, ['run', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const waiters: (() => void)[] = [];
    const onData = (c: Buffer) => {
      out += c.toString();
      for (const w of waiters.splice(0)) w();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    const ready = (text: string) =>
      new Promise<void>((resolve) => {
        const check = () => (out.includes(text) ? resolve() : waiters.push(check));
        check();
      });
    return { child, out: () => out, ready, done };
  }

  function runcList(): string[] {
    const r = spawnSync('runc', ['--root', join(runtime, 'runc'), 'list', '-q'], { encoding: 'utf8' });
    return r.stdout.split('\n').filter(Boolean);
  }

  const entries = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

  async function expectNothingLeft(): Promise<void> {
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .filter((l) => l.includes(state) || l.includes(runtime));
    expect(mounts).toEqual([]);
    expect(runcList()).toEqual([]);
    expect(entries(join(state, 'tmp'))).toEqual([]);
    expect(entries(join(runtime, 'tmp'))).toEqual([]);
    expect(entries(join(state, 'snapshots')).filter((n) => n.startsWith('.'))).toEqual([]);
  }

  beforeAll(async () => {
    fx = await makeFixture({
      Dockerfile: [
        `FROM ${FROM_BASE}`,
        `RUN echo built > /built.txt && echo 'tester:x:1234:2345::/home/tester:/bin/sh' >> /etc/passwd && echo 'testers:x:2345:' >> /etc/group`,
        'WORKDIR /srv',
        'ENV GREETING=hello FROM_IMAGE=1',
        'ENTRYPOINT ["echo", "ep"]',
        'CMD ["default", "cmd"]',
      ].join('\n'),
    });
    state = fx.stateRoot;
    runtime = join(fx.dir, 'runtime');
    vol = join(fx.dir, 'vol');
    await mkdir(vol);
    await writeFile(join(vol, 'in.txt'), 'from the host\n');
    env = { TSBUILD_ROOT: state, TSBUILD_RUNTIME_DIR: runtime };
    const r = await fx.build(['-t', 'runme:1'], { env: { TSBUILD_RUNTIME_DIR: runtime } });
    if (r.exitCode !== 0) throw new Error(r.stderr);
  }, 120_000);
  afterEach(expectNothingLeft);
  afterAll(async () => fx?.cleanup());

  it("streams the process's output and exits with its code", async () => {
    const r = await run(['--entrypoint', 'sh', 'runme:1', '-c', 'echo hi; echo oops >&2; exit 3']);
    expect(r).toMatchObject({ exitCode: 3, stdout: 'hi\n' });
    expect(r.stderr).toContain('oops');
    // the layers the build made are the container's: no snapshot was unpacked for it
    expect((await run(['--entrypoint', 'cat', 'runme:1', '/built.txt'])).stdout).toBe('built\n');
    expect(entries(join(state, 'snapshots')).filter((n) => n.startsWith('l'))).toHaveLength(1);
  });

  it('merges ENTRYPOINT and CMD with the command line as docker does', async () => {
    expect((await run(['runme:1'])).stdout).toBe('ep default cmd\n');
    expect((await run(['runme:1', 'a', 'b'])).stdout).toBe('ep a b\n');
    // --entrypoint drops the image's CMD
    expect((await run(['--entrypoint', 'echo', 'runme:1'])).stdout).toBe('\n');
    expect((await run(['--entrypoint', '', 'runme:1', 'echo', 'x'])).stdout).toBe('x\n');
    const none = await run(['--entrypoint', '', 'runme:1']);
    expect(none.exitCode).toBe(125);
    expect(none.stderr).toContain('No command specified');
  });

  it('-e, --env-file, -w and -u', async () => {
    await writeFile(join(fx.dir, 'env.list'), '# a comment\nFILE_VAR=from file\nGREETING=file\n');
    const r = await runCli(
      [
        'run',
        '--env-file',
        join(fx.dir, 'env.list'),
        '-e',
        'GREETING=flag',
        '-e',
        'FROM_HOST',
        '-e',
        'FROM_IMAGE',
        '-w',
        '/tmp/work',
        '-u',
        'tester',
        '--entrypoint',
        'sh',
        'runme:1',
        '-c',
        'echo "$GREETING|$FILE_VAR|$FROM_HOST|${FROM_IMAGE-unset}|$HOSTNAME"; pwd; id -u; id -g; echo $HOME',
      ],
      { env: { ...env, FROM_HOST: 'host value' } },
    );
    expect(r.stderr).toBe('');
    const [vars, cwd, uid, gid, home] = r.stdout.trim().split('\n');
    expect(vars).toMatch(/^flag\|from file\|host value\|unset\|[0-9a-f]{12}$/);
    expect([cwd, uid, gid, home]).toEqual(['/tmp/work', '1234', '2345', '/home/tester']);
    // the image's own workdir and env, as root
    expect((await run(['--entrypoint', 'sh', 'runme:1', '-c', 'pwd; id -u; echo $GREETING'])).stdout).toBe(
      '/srv\n0\nhello\n',
    );
  });

  it('-v binds a host path read-write, or read-only with :ro', async () => {
    const rw = await run([
      '-v',
      `${vol}:/data`,
      '--entrypoint',
      'sh',
      'runme:1',
      '-c',
      'cat /data/in.txt; echo out > /data/out.txt',
    ]);
    expect(rw).toMatchObject({ exitCode: 0, stdout: 'from the host\n' });
    expect(await readFile(join(vol, 'out.txt'), 'utf8')).toBe('out\n');
    const ro = await run([
      '-v',
      `${vol}:/data:ro`,
      '--entrypoint',
      'sh',
      'runme:1',
      '-c',
      'cat /data/in.txt; echo x > /data/ro.txt',
    ]);
    expect(ro.exitCode).not.toBe(0);
    expect(ro.stdout).toBe('from the host\n');
    expect(ro.stderr).toContain('Read-only file system');
    expect(existsSync(join(vol, 'ro.txt'))).toBe(false);
    const rel = await run(['-v', 'vol:/data', 'runme:1']);
    expect(rel.exitCode).toBe(125);
    expect(rel.stderr).toContain('the host path must be absolute');
  });

  it('writes go to a layer thrown away with the container', async () => {
    expect((await run(['--entrypoint', 'sh', 'runme:1', '-c', 'echo x > /built.txt; cat /built.txt'])).stdout).toBe(
      'x\n',
    );
    expect((await run(['--entrypoint', 'cat', 'runme:1', '/built.txt'])).stdout).toBe('built\n');
  });

  it('--network none leaves only the loopback; the default is the host network', async () => {
    const none = await run(['--network', 'none', '--entrypoint', 'ls', 'runme:1', '/sys/class/net']);
    expect(none.stdout.trim().split(/\s+/)).toEqual(['lo']);
    const host = await run(['--entrypoint', 'ls', 'runme:1', '/sys/class/net']);
    expect(host.stdout.trim().split(/\s+/).sort()).toEqual(readdirSync('/sys/class/net').sort());
    expect((await run(['--network', 'bridge', 'runme:1'])).exitCode).toBe(125);
  });

  it('-i passes stdin; without it the process reads nothing', async () => {
    const script = 'read line; echo "got=$line"; [ -t 0 ] && echo tty || echo notty';
    expect((await run(['-i', '--entrypoint', 'sh', 'runme:1', '-c', script], 'piped\n')).stdout).toBe(
      'got=piped\nnotty\n',
    );
    expect((await run(['--entrypoint', 'sh', 'runme:1', '-c', script], 'piped\n')).stdout).toBe('got=\nnotty\n');
  });

  async function inPty(argv: string[], after?: { text: string; send: string }): Promise<{ code: number; out: string }> {
    const cfg = {
      argv: [TSBUILD, 'run', ...argv],
      env: { ...process.env, ...env },
      ...(after ? { after: after.text, send: after.send } : {}),
    };
    const { stdout } = await exec('python3', ['-c', PTY_DRIVER, JSON.stringify(cfg)]);
    return JSON.parse(stdout) as { code: number; out: string };
  }

  it('-t gives the process a terminal, -it connects ours to it', async () => {
    const t = await inPty([
      '-t',
      '--entrypoint',
      'sh',
      'runme:1',
      '-c',
      '[ -t 0 ] && [ -t 1 ] && echo "istty $TERM"; exit 5',
    ]);
    expect(t.code).toBe(5);
    expect(t.out).toContain('istty xterm');
    const it_ = await inPty(['-it', '--entrypoint', 'sh', 'runme:1', '-c', 'echo ready; read x; echo "got=$x"'], {
      text: 'ready',
      send: 'typed\r',
    });
    expect(it_.code).toBe(0);
    expect(it_.out).toContain('got=typed');
    const noTty = await run(['-t', 'runme:1']);
    expect(noTty.exitCode).toBe(125);
    expect(noTty.stderr).toContain('the input device is not a TTY');
  });

  const TRAP = 'trap "echo trapped; exit 130" INT; echo ready; while true; do sleep 0.1; done';

  it('Ctrl-C in a terminal reaches the process', async () => {
    const r = await inPty(['-it', '--entrypoint', 'sh', 'runme:1', '-c', TRAP], { text: 'ready', send: '\x03' });
    expect(r.code).toBe(130);
    expect(r.out).toContain('trapped');
  });

  it('SIGINT to tsbuild is forwarded to the process', async () => {
    const c = start(['--entrypoint', 'sh', 'runme:1', '-c', TRAP]);
    await c.ready('ready');
    c.child.kill('SIGINT');
    expect(await c.done).toBe(130);
    expect(c.out()).toContain('trapped');
  });

  it('a process that ignores interrupts is killed at the third', async () => {
    const c = start([
      '--entrypoint',
      'sh',
      'runme:1',
      '-c',
      'trap "" INT TERM; echo ready; while true; do sleep 0.1; done',
    ]);
    await c.ready('ready');
    for (let i = 0; i < 3; i++) {
      c.child.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await c.done).toBe(137);
    expect(c.out()).toContain('killing the container');
  });

  it('docker exit codes for a process that cannot start: 127, 126, 125', async () => {
    const missing = await run(['--entrypoint', 'no-such-command', 'runme:1']);
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toContain('executable file not found');
    expect((await run(['--entrypoint', '/etc/passwd', 'runme:1'])).exitCode).toBe(126);
    const noImage = await run(['no-such-image']);
    expect(noImage.exitCode).toBe(125);
    expect(noImage.stderr).toContain('No such image: no-such-image');
  });

  it('runs a loaded image, unpacking its layers once', async () => {
    const other = { TSBUILD_ROOT: join(fx.dir, 'state2'), TSBUILD_RUNTIME_DIR: join(fx.dir, 'runtime2') };
    const loaded = await runCli(['load', '-i', fx.archive], { env: other });
    expect(loaded.exitCode).toBe(0);
    const ref = /Loaded image(?: ID)?: (\S+)/.exec(loaded.stdout)![1]!;
    const r = await runCli(['run', '--entrypoint', 'sh', ref, '-c', 'cat /built.txt; pwd'], { env: other });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'built\n/srv\n' });
    const snapshots = () => entries(join(other.TSBUILD_ROOT, 'snapshots')).filter((n) => !n.startsWith('.'));
    expect(snapshots()).toHaveLength(3);
    expect((await runCli(['run', ref, 'again'], { env: other })).stdout).toBe('ep again\n');
    expect(snapshots()).toHaveLength(3);
    expect(entries(join(other.TSBUILD_ROOT, 'tmp'))).toEqual([]);
    expect(existsSync(other.TSBUILD_RUNTIME_DIR) ? readdirSync(other.TSBUILD_RUNTIME_DIR) : []).toEqual([]);
  });

  it('after kill -9 of tsbuild, the next run sweeps its container and files', async () => {
    const c = start([
      '--name',
      'killed',
      '--entrypoint',
      'sh',
      'runme:1',
      '-c',
      'echo ready; while true; do sleep 0.1; done',
    ]);
    await c.ready('ready');
    c.child.kill('SIGKILL');
    await c.done;
    expect(runcList()).toEqual([expect.stringMatching(/^tsbuild-.*-killed$/)]);
    expect(entries(join(state, 'tmp'))).toHaveLength(1);
    expect((await run(['runme:1', 'next'])).stdout).toBe('ep next\n');
  });
});
