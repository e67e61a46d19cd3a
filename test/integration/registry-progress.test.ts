/**
 * What a build shows of its registry traffic, on real parts: the byte counts of a multi-MB base
 * pulled from a local registry (docker-registry) in a real terminal (a pty) and in plain logs,
 * and a registry that takes the connection and never answers: a running `load metadata` step,
 * then a failure naming the registry and the limit to raise, in seconds.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOW_FIXTURE_BASES, FROM_BASE, REPO_ROOT, runCli, TSBUILD } from '../helpers/build-fixture.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { VtScreen } from '../helpers/vt-screen.js';

const ROWS = 20;
const COLS = 100;

/** The CLI in a pseudo-terminal (test/helpers/pty-run.py): exit code, all it wrote, and when the first line came. */
function inTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'python3',
      [join(REPO_ROOT, 'test/helpers/pty-run.py'), String(ROWS), String(COLS), TSBUILD, ...args],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code ?? -1, output }));
  });
}

/** What the screen shows after replaying everything the command wrote. */
function finalScreen(output: string): string[] {
  const screen = new VtScreen(ROWS, COLS);
  screen.write(output);
  return [...screen.scrolledOff, ...screen.text()];
}

describe('registry traffic in the progress output', () => {
  let dir: string;
  let reg: TestRegistry;
  let base: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-registry-progress-'));
    reg = await startRegistry();
    // a base with an 8 MB layer of random bytes (gzip cannot shrink it), made by tsbuild and pushed
    const ctx = join(dir, 'big');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'blob.bin'), randomBytes(8_000_000));
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${FROM_BASE}\nCOPY blob.bin /blob.bin\n`);
    base = `${reg.host}/tsb/big:1`;
    const made = await runCli(['build', '--progress', 'plain', '-t', base, '--push', ctx], {
      env: { TSBUILD_ROOT: join(dir, 'maker') },
    });
    expect(made.exitCode, made.stderr).toBe(0);
    // the push sent the big layer with its byte count, once
    expect(made.stderr.match(/^#\d+ pushing sha256:[0-9a-f]{12}: 8\.\d\dMB done$/gm)).toHaveLength(1);
  }, 180_000);
  afterAll(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const pullContext = async (name: string): Promise<string> => {
    const ctx = join(dir, name);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${base}\nRUN test -s /blob.bin\n`);
    return ctx;
  };

  it('a real terminal shows the load metadata step and the pulled layers with their sizes', async () => {
    const ctx = await pullContext('tty');
    const r = await inTerminal([...ALLOW_FIXTURE_BASES, ctx], { TSBUILD_ROOT: join(dir, 'state-tty') });
    expect(r.exitCode, r.output).toBe(0);
    const screen = finalScreen(r.output);
    expect(screen.some((l) => l.includes(`[internal] load metadata for ${base}`))).toBe(true);
    expect(screen.some((l) => /=> pulling sha256:[0-9a-f]{12} +8\.\d\dMB \/ 8\.\d\dMB \d+\.\ds$/.test(l))).toBe(true);
  }, 120_000);

  it('plain logs print each finished download once, with its size', async () => {
    const ctx = await pullContext('plain');
    const r = await runCli(['build', '--progress', 'plain', ctx], { env: { TSBUILD_ROOT: join(dir, 'state-plain') } });
    expect(r.exitCode, r.stderr).toBe(0);
    const pulls = r.stderr.match(/^#\d+ pulling sha256:[0-9a-f]{12}: .+ done$/gm) ?? [];
    // the busybox layer and the 8 MB one, each once
    expect(pulls).toHaveLength(2);
    expect(pulls.filter((l) => /: 8\.\d\dMB done$/.test(l))).toHaveLength(1);
    expect(new Set(pulls).size).toBe(2);
    expect(r.stderr).toMatch(
      // after the two loads BuildKit also shows first: the Dockerfile (#1) and .dockerignore (#2)
      new RegExp(`^#3 \\[internal\\] load metadata for ${base.replaceAll('.', '\\.')}\\n#3 DONE`, 'm'),
    );
  }, 120_000);

  describe('a registry that takes the connection and never answers', () => {
    let silent: Server;
    const sockets: Socket[] = [];
    let host: string;
    beforeAll(async () => {
      silent = createServer((s) => sockets.push(s.on('error', () => {})));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      host = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    });
    const env = (state: string) => ({ TSBUILD_ROOT: join(dir, state), TSBUILD_REGISTRY_TIMEOUTS: 'headers=0.5' });

    it('plain: the step shows first, then the failure naming the registry and the limit, exit 1, in seconds', async () => {
      const ctx = join(dir, 'silent-plain');
      await mkdir(ctx, { recursive: true });
      await writeFile(join(ctx, 'Dockerfile'), `FROM ${host}/x\nRUN true\n`);
      const started = Date.now();
      const r = await runCli(['build', '--progress', 'plain', ctx], { env: env('state-silent') });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(r.exitCode).toBe(1);
      const lines = r.stderr.split('\n');
      const step = lines.indexOf(`#3 [internal] load metadata for ${host}/x:latest`);
      const failed = lines.findIndex((l) => l.startsWith('#3 ERROR: '));
      expect(step).toBeGreaterThanOrEqual(0);
      expect(failed).toBeGreaterThan(step);
      expect(r.stderr).toContain(
        `error: registry ${host} is too slow: manifest of ${host}/x:latest: no answer within 0.5s`,
      );
      expect(r.stderr).toMatch(/hint: .*TSBUILD_REGISTRY_TIMEOUTS=headers=/);
    }, 30_000);

    it('tty: the step is drawn running, with its timer, before the failure', async () => {
      const ctx = join(dir, 'silent-tty');
      await mkdir(ctx, { recursive: true });
      await writeFile(join(ctx, 'Dockerfile'), `FROM ${host}/x\nRUN true\n`);
      const r = await inTerminal([ctx], env('state-silent-tty'));
      expect(r.exitCode).toBe(1);
      // a frame drawn while it waited: the step running (`=>` at the start) with a timer past zero
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the erase sequence that ends each frame
      const frames = r.output.split(/(?<=\x1b\[J)/);
      const screen = new VtScreen(ROWS, COLS);
      let seenRunning = false;
      for (const f of frames) {
        screen.write(f);
        if (
          screen
            .text()
            .some((l) => new RegExp(`^=> \\[internal\\] load metadata for ${host}/x:latest +0\\.[1-9]s$`).test(l))
        )
          seenRunning = true;
      }
      expect(seenRunning).toBe(true);
      expect(r.output).toContain(`registry ${host} is too slow`);
    }, 30_000);
  });
});
