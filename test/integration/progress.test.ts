import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOW_FIXTURE_BASES, FROM_BASE, REPO_ROOT, runCli, TSBUILD } from '../helpers/build-fixture.js';
import { VtScreen } from '../helpers/vt-screen.js';

const ROWS = 15;
const COLS = 80;

/** 25 steps (the base and 24 RUN), each writing more lines than the view keeps. */
const dockerfile = (salt: string) =>
  [
    `FROM ${FROM_BASE}`,
    ...Array.from(
      { length: 24 },
      (_, i) => `RUN for n in 1 2 3 4 5 6 7 8 9 10; do echo ${salt} step ${i + 1} line $n; done; sleep 0.05`,
    ),
  ].join('\n');

/** Runs the CLI in a pseudo-terminal of ROWS×COLS (test/helpers/pty-run.py); all it wrote there. */
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

describe('progress: the live view in a real terminal, the JSON stream, the kept build logs', () => {
  let dir: string;
  let state: string;
  const env = () => ({ TSBUILD_ROOT: state });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-progress-'));
    state = join(dir, 'state');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('draws a 25-step build at 80×15 without ever scrolling, and ends with FINISHED and the count', async () => {
    const context = join(dir, 'tty');
    await rm(context, { recursive: true, force: true });
    await mkdir(context, { recursive: true });
    await writeFile(join(context, 'Dockerfile'), dockerfile('tty'));
    const r = await inTerminal([...ALLOW_FIXTURE_BASES, '-t', 'progress:tty', context], env());
    expect(r.exitCode, r.output).toBe(0);

    // Replay what the terminal received frame by frame (each frame ends by erasing what is below it).
    const screen = new VtScreen(ROWS, COLS);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the erase sequence that ends each frame
    const frames = r.output.split(/(?<=\x1b\[J)/);
    const last = frames.findLastIndex((f) => f.endsWith('\x1b[J'));
    expect(last).toBeGreaterThan(5);
    for (const [i, frame] of frames.entries()) {
      screen.write(frame);
      if (i > last) continue;
      // nothing of the view went off the top: it never scrolled; and it holds at most ROWS - 1 lines
      expect(screen.scrolledOff, frame).toEqual([]);
      expect(screen.text().filter(Boolean).length).toBeLessThan(ROWS);
      expect(screen.text()[0]).toMatch(/^\[\+\] Building \d+\.\ds \(\d+\/\d+\)/);
      if (i === last) {
        const [, done, total] = /\((\d+)\/(\d+)\) FINISHED$/.exec(screen.text()[0]!) ?? [];
        expect(screen.text()[0]).toMatch(/ FINISHED$/);
        expect(Number(done)).toBe(Number(total));
        expect(Number(total)).toBeGreaterThanOrEqual(25);
      }
    }
    // and the summary came below it
    expect(r.output.slice(r.output.lastIndexOf('\x1b[J'))).toContain('image sha256:');
  }, 180_000);

  it('keeps the whole log: history lists the build, history logs prints every line again', async () => {
    const list = await runCli(['history'], { env: env() });
    expect(list.exitCode, list.stderr).toBe(0);
    const [header, row] = list.stdout.split('\n');
    expect(header).toMatch(/^BUILD ID +NAME +CONTEXT +STATUS +CREATED +DURATION$/);
    expect(row).toMatch(/^[a-z0-9]{20} +progress:tty +\S+\/tty +Completed +.+ ago +\d+\.\ds$/);
    const id = row!.split(/ +/)[0]!;

    const logs = await runCli(['history', 'logs'], { env: env() });
    expect(logs.exitCode, logs.stderr).toBe(0);
    for (let step = 1; step <= 24; step++)
      for (let n = 1; n <= 10; n++) expect(logs.stdout).toContain(`tty step ${step} line ${n}\n`);
    expect(logs.stdout).toMatch(/^image sha256:[0-9a-f]{64}$/m);
    const byId = await runCli(['history', 'logs', id.slice(0, 6)], { env: env() });
    expect(byId.stdout).toBe(logs.stdout);

    const json = await runCli(['history', 'ls', '--format', 'json'], { env: env() });
    expect(JSON.parse(json.stdout.split('\n')[0]!)).toMatchObject({
      ID: id,
      Status: 'Completed',
      Name: 'progress:tty',
    });
  });

  it('the json stream holds only events, the last one the result', async () => {
    const context = join(dir, 'json');
    await mkdir(context, { recursive: true });
    await writeFile(join(context, 'Dockerfile'), `FROM ${FROM_BASE}\nRUN echo json\n`);
    const r = await runCli(['build', '--progress', 'json', '-t', 'progress:json', context], { env: env() });
    expect(r.exitCode, r.stderr).toBe(0);
    const events = r.stderr
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; result?: Record<string, unknown> });
    expect(events[0]!.type).not.toBe('result');
    const result = events.at(-1)!;
    expect(result.type).toBe('result');
    expect(result.result).toMatchObject({ ok: true, names: ['progress:json'] });
    expect(result.result!.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(events.filter((e) => e.type === 'result')).toHaveLength(1);
  });

  it('a failed build is listed as Error, and its log says why', async () => {
    const context = join(dir, 'fail');
    await mkdir(context, { recursive: true });
    await writeFile(join(context, 'Dockerfile'), `FROM ${FROM_BASE}\nRUN echo before-failing; exit 3\n`);
    const r = await runCli(['build', '--progress', 'plain', context], { env: env() });
    expect(r.exitCode).toBe(1);
    const list = await runCli(['history'], { env: env() });
    expect(list.stdout.split('\n')[1]).toMatch(/ Error +/);
    const logs = await runCli(['history', 'logs'], { env: env() });
    expect(logs.stdout).toContain('before-failing');
    expect(logs.stdout).toMatch(/^ERROR: .*did not complete successfully: exit code: 3$/m);
  });
});
