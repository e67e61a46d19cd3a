import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../errors.js';
import { runTool } from './run-tool.js';
import { runInToolShell } from './tool-shell.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-toolshell-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the tool shell', () => {
  it('runs a tool with its arguments as given, in a cwd, with stdin, and returns code, stdout and stderr', async () => {
    const r = await runInToolShell(
      'sh',
      ['-c', 'pwd; cat; printf "%s|" "$@"; echo oops >&2; exit 3', 'sh', "it's", 'a $HOME `x` "q"', ''],
      { cwd: dir, input: 'from stdin\n' },
    )!;
    expect(r.code).toBe(3);
    expect(r.stdout.toString()).toBe(`${dir}\nfrom stdin\nit's|a $HOME \`x\` "q"||`);
    expect(r.stderr).toBe('oops');
  });

  it('keeps binary output intact and runs requests side by side', async () => {
    const started = Date.now();
    const rs = await Promise.all(
      [1, 2, 3, 4].map((i) => runInToolShell('sh', ['-c', `sleep 0.3; printf '\\000\\377${i}'`], {})!),
    );
    expect(Date.now() - started).toBeLessThan(1100);
    expect(rs.map((r) => [...r.stdout])).toEqual([1, 2, 3, 4].map((i) => [0, 255, 48 + i]));
  });

  it("starts again with a new PATH (the build server runs each build in its client's env)", async () => {
    const path = process.env.PATH;
    try {
      const before = await runInToolShell('sh', ['-c', 'echo "$PATH"'], {})!;
      expect(before.stdout.toString().trim()).toBe(path);
      process.env.PATH = `${path}:${dir}`;
      const after = await runInToolShell('sh', ['-c', 'echo "$PATH"'], {})!;
      expect(after.stdout.toString().trim()).toBe(`${path}:${dir}`);
    } finally {
      process.env.PATH = path;
    }
  });

  it('leaves a very long command line to a plain spawn', () => {
    expect(runInToolShell('true', ['x'.repeat(20_000)], {})).toBeUndefined();
  });
});

describe('runTool', () => {
  it("a tool missing from PATH is the machine's to fix: an environment error naming it", async () => {
    // through the tool shell (bash's exit 127), and through a plain spawn (ENOENT) for a long command line
    for (const args of [[], ['x'.repeat(20_000)]]) {
      const err = await runTool('tsbuild-no-such-tool', args).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect(err).toMatchObject({ message: 'tsbuild-no-such-tool is not installed (or not on PATH)' });
    }
  });

  it('gives the same answers through the shell and through a plain spawn', async () => {
    const viaShell = await runTool('sh', ['-c', 'echo out; echo err >&2; exit 5']);
    const viaSpawn = await runTool('sh', ['-c', 'echo out; echo err >&2; exit 5', 'x'.repeat(20_000)]);
    expect(viaShell).toEqual({ code: 5, stdout: Buffer.from('out\n'), stderr: 'err' });
    expect(viaSpawn).toEqual(viaShell);
  });
});
