import { appendFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, runCli, type CliResult, type Fixture } from '../helpers/build-fixture.js';

/** `#N name` → the lines of that step, by step name prefix. */
function stepLines(stderr: string, name: string): string[] {
  const n = new RegExp(`^#(\\d+) ${name.replace(/[[\]().*+?^$|\\]/g, '\\$&')}`, 'm').exec(stderr)?.[1];
  if (!n) return [];
  return stderr.split('\n').filter((l) => l.startsWith(`#${n} `));
}
const ran = (r: CliResult): string[] =>
  r.stderr.split('\n').filter((l) => / running: /.test(l) && !l.includes('base image layers'));
const digest = (r: CliResult): string | undefined => /image (sha256:[a-f0-9]{64})/.exec(r.stderr)?.[1];

describe('the cache across builds', () => {
  let f: Fixture;
  let first: CliResult;
  beforeAll(async () => {
    f = await makeFixture({
      Dockerfile: [
        `FROM ${FROM_BASE} AS base`,
        'ARG V=1',
        'COPY a.txt /a.txt',
        'RUN cat /a.txt > /copy-a && echo "v=$V" > /v',
        'COPY src/ /src/',
        'RUN cat /src/* > /all',
        '',
      ].join('\n'),
      'a.txt': 'a\n',
      'src/x.js': 'x\n',
      'src/y.js': 'y\n',
      'unused.txt': 'not copied\n',
    });
    first = await f.build();
    if (first.exitCode !== 0) throw new Error(first.stderr);
  });
  afterAll(() => f.cleanup());

  it('runs every step of a first build and says why', () => {
    expect(ran(first).length).toBe(4);
    expect(first.stderr).toMatch(/running: no earlier build of this step/);
  });

  it('touch and an edit to a file no COPY selects change nothing', async () => {
    const now = new Date();
    await utimes(join(f.context, 'a.txt'), now, now);
    await appendFile(join(f.context, 'unused.txt'), 'more\n');
    const r = await f.build();
    expect(r.exitCode).toBe(0);
    expect(ran(r)).toEqual([]);
    expect(digest(r)).toBe(digest(first));
  });

  it('an edit re-runs only what depends on it, naming the file and the parent step', async () => {
    await writeFile(join(f.context, 'src/y.js'), 'y2\n');
    const r = await f.build();
    expect(r.exitCode).toBe(0);
    expect(ran(r)).toHaveLength(2);
    expect(stepLines(r.stderr, '[base 4/5] COPY src/').join('\n')).toMatch(
      /running: files changed \(changed: src\/y\.js\)/,
    );
    expect(stepLines(r.stderr, '[base 5/5] RUN').join('\n')).toMatch(
      /running: the parent step changed \(\[base 4\/5\] COPY src\/ \/src\/\)/,
    );
    expect(stepLines(r.stderr, '[base 2/5] COPY a.txt').join('\n')).toMatch(/CACHED/);
  });

  it('names a changed build arg, in plain and in json progress', async () => {
    const r = await runCli(['--progress=json', '--build-arg', 'V=2', '-t', 'fixture:latest', f.context], {
      env: { TSBUILD_ROOT: f.stateRoot },
    });
    expect(r.exitCode).toBe(0);
    const events = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; vertex?: { name: string }; causes?: unknown[] });
    const start = events.find((e) => e.type === 'vertex.start' && e.vertex?.name.startsWith('[base 3/5] RUN'));
    expect(start?.causes).toEqual([{ kind: 'build-arg', name: 'V', before: '1', after: '2' }]);
    expect(events.find((e) => e.type === 'vertex.cached' && e.vertex?.name.startsWith('[base 2/5]'))).toBeDefined();
  });

  it('--no-cache-filter re-runs that stage only, and says so', async () => {
    const r = await f.build(['--no-cache-filter', 'base']);
    expect(r.exitCode).toBe(0);
    expect(ran(r).length).toBe(4);
    expect(r.stderr).toMatch(/running: cache disabled \(--no-cache-filter base\)/);
    const w = await f.build(['--no-cache-filter', 'nosuch']);
    expect(w.stderr).toMatch(/WARNING: --no-cache-filter nosuch: no stage of that name/);
  });

  it('du lists the state by kind; prune --all keeps tagged images and the next build says the cache was pruned', async () => {
    const env = { TSBUILD_ROOT: f.stateRoot };
    const du = await runCli(['du', '--json'], { env });
    expect(du.exitCode).toBe(0);
    const rows = (JSON.parse(du.stdout) as { rows: { kind: string; items: number; bytes: number }[] }).rows;
    expect(rows.find((r) => r.kind === 'step layers (snapshots)')!.items).toBeGreaterThan(0);
    expect(rows.find((r) => r.kind === 'tagged images (blobs)')!.items).toBeGreaterThan(0);

    const p = await runCli(['prune', '--all'], { env });
    expect(p.exitCode).toBe(0);
    expect(p.stdout).toMatch(/removed \d+ layer snapshots/);
    const after = JSON.parse((await runCli(['du', '--json'], { env })).stdout) as {
      rows: { kind: string; items: number }[];
    };
    expect(after.rows.find((r) => r.kind === 'step layers (snapshots)')!.items).toBe(0);
    const { execFile } = await import('node:child_process');
    const inspect = await new Promise<number>((res) =>
      execFile('skopeo', ['inspect', `oci:${f.stateRoot}/content:fixture:latest`], (err) => res(err ? 1 : 0)),
    );
    expect(inspect).toBe(0);

    const r = await f.build();
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/running: its cached result was removed \(prune\)/);
  });

  it('applies the automatic cap after a build (least recently used first), and the state stays usable', async () => {
    const env = { TSBUILD_ROOT: f.stateRoot, TSBUILD_CACHE_MAX: '1' };
    const r = await runCli(['--progress=plain', '--build-arg', 'V=3', '-t', 'fixture:latest', f.context], { env });
    expect(r.exitCode).toBe(0);
    const du = JSON.parse((await runCli(['du', '--json'], { env })).stdout) as {
      rows: { kind: string; items: number }[];
    };
    expect(du.rows.find((x) => x.kind === 'step layers (snapshots)')!.items).toBe(0);
    const again = await f.build();
    expect(again.exitCode).toBe(0);
  });
});

describe('--no-cache and --no-cache-filter', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture({
      Dockerfile: [
        `FROM ${FROM_BASE} AS gen`,
        'RUN cat /proc/sys/kernel/random/uuid > /token',
        `FROM ${FROM_BASE} AS other`,
        'RUN echo other > /other',
        `FROM ${FROM_BASE}`,
        'COPY --from=gen /token /token',
        'COPY --from=other /other /other',
        '',
      ].join('\n'),
    });
  });
  afterAll(() => f.cleanup());

  it('a filtered stage really runs again, what uses it is rebuilt on the new result, the rest stays cached', async () => {
    expect((await f.build()).exitCode).toBe(0);
    const before = await (await f.unpack()).read('/token');

    const r = await f.build(['--no-cache-filter', 'gen']);
    expect(r.exitCode).toBe(0);
    expect(stepLines(r.stderr, '[gen 2/2] RUN').join('\n')).toMatch(
      /running: cache disabled \(--no-cache-filter gen\)/,
    );
    expect(stepLines(r.stderr, '[stage-2 2/3] COPY --from=gen').join('\n')).toMatch(
      /running: \[gen 2\/2\] RUN .* has a new result/,
    );
    expect(stepLines(r.stderr, '[other 2/2] RUN').join('\n')).toMatch(/CACHED/);
    const after = await (await f.unpack()).read('/token');
    expect(after).not.toBe(before);

    // and the next plain build keeps the new result
    const again = await f.build();
    expect(ran(again)).toEqual([]);
    expect(await (await f.unpack()).read('/token')).toBe(after);
  });

  it('--no-cache gives every step a new result that later builds use', async () => {
    const before = await (await f.unpack()).read('/token');
    const r = await f.build(['--no-cache']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/running: cache disabled \(--no-cache\)/);
    const after = await (await f.unpack()).read('/token');
    expect(after).not.toBe(before);
    const again = await f.build();
    expect(ran(again)).toEqual([]);
    expect(await (await f.unpack()).read('/token')).toBe(after);
  });
});
