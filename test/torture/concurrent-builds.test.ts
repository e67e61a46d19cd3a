/**
 * Issue 10 point 7: builds sharing a state dir redid each other's work (four builds at once each
 * ran the shared RUN, and the next build re-ran a step whose record a second writer had
 * replaced). Now a missing step runs under its key's step lock: one build runs it, the others
 * wait and take its record. Here four and eight builds start at once on a fresh state dir, with
 * the same Dockerfile and with Dockerfiles sharing a prefix, while `tsbuild prune` (or
 * `prune --all`) runs in a loop beside them; progress events (--progress=json) count how often
 * each step ran.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ALLOW_FIXTURE_BASES,
  FROM_BASE,
  makeFixture,
  runCli,
  TSBUILD,
  type CliResult,
  type Fixture,
} from '../helpers/build-fixture.js';

const PREFIX = [
  `FROM ${FROM_BASE}`,
  'RUN echo shared > /one && sleep 1',
  'COPY a.txt /a.txt',
  'RUN cat /one /a.txt > /two',
  'WORKDIR /w',
];

/** Variant `n`: the shared prefix, then steps only builds of this variant have. */
function variant(n: number): string {
  return [...PREFIX, `RUN echo variant-${n} > v`, `ENV V=${n}`, `RUN cat v /two > both-${n}`].join('\n') + '\n';
}

interface Build {
  result: CliResult;
  digest: string;
  /** Step text (without the `[stage n/N]` label) → how often this build ran it. */
  ran: Map<string, number>;
}

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

async function build(f: Fixture, dockerfile: string, tag: string): Promise<Build> {
  const meta = join(f.dir, `${tag}-${Math.random().toString(36).slice(2)}.json`);
  const result = await runCli(
    [
      '--progress=json',
      '-f',
      join(f.context, dockerfile),
      '-o',
      `type=oci,dest=${meta}.tar`,
      '--metadata-file',
      meta,
      f.context,
    ],
    {
      env: { TSBUILD_ROOT: f.stateRoot },
    },
  );
  const ran = new Map<string, number>();
  for (const line of result.stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line) as { type: string; vertex?: { name: string } };
    // the [internal] load steps (Dockerfile, .dockerignore, context) run in every build, as BuildKit's
    if (e.type !== 'vertex.start') continue;
    if (/^\[internal\] load (build definition|\.dockerignore|build context)/.test(e.vertex!.name)) continue;
    const step = e.vertex!.name.replace(/^\[[^\]]*\] /, '');
    ran.set(step, (ran.get(step) ?? 0) + 1);
  }
  const digest =
    result.exitCode === 0
      ? (JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>)['containerimage.digest']!
      : '';
  return { result, digest, ran };
}

/**
 * Runs `tsbuild prune [args]` over and over until `stop` resolves; every run must succeed. With
 * `afterLeases`, the loop starts once that many builds hold their lease on the state dir: a prune
 * that gets in first makes the builds wait for it, and they would then start one by one instead
 * of together.
 */
async function pruneLoop(
  f: Fixture,
  args: string[],
  stop: Promise<unknown>,
  afterLeases = 0,
): Promise<{ runs: number; failures: string[] }> {
  let stopped = false;
  void stop.finally(() => (stopped = true));
  const out = { runs: 0, failures: [] as string[] };
  while (!stopped && afterLeases > 0) {
    const leases = (await readdir(join(f.stateRoot, 'locks')).catch(() => [] as string[])).filter((n) =>
      n.startsWith('build-'),
    );
    if (leases.length >= afterLeases) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  while (!stopped) {
    const r = await runCli(['prune', ...args], { env: { TSBUILD_ROOT: f.stateRoot } });
    out.runs++;
    if (r.exitCode !== 0) out.failures.push(r.stderr);
  }
  return out;
}

/** Over all builds, how often each step ran. */
function totals(builds: Build[]): Map<string, number> {
  const sum = new Map<string, number>();
  for (const b of builds) for (const [step, n] of b.ran) sum.set(step, (sum.get(step) ?? 0) + n);
  return sum;
}

async function fixtureWith(variants: number): Promise<Fixture> {
  const files: Record<string, string> = { 'a.txt': 'hello\n' };
  for (let n = 0; n < variants; n++) files[`Dockerfile.${n}`] = variant(n);
  return makeFixture(files);
}

describe('concurrent builds on one state dir', () => {
  it('four builds of one Dockerfile, prune looping beside them: each step runs once, one digest', async () => {
    fixture = await fixtureWith(1);
    const f = fixture;
    const running = Promise.all([0, 1, 2, 3].map((i) => build(f, 'Dockerfile.0', `same${i}`)));
    const [builds, prunes] = await Promise.all([running, pruneLoop(f, [], running, 4)]);
    for (const b of builds) expect(b.result.exitCode, b.result.stderr).toBe(0);
    expect(prunes.failures).toEqual([]);
    const ran = totals(builds);
    // every step of the Dockerfile (and the base image's unpack) ran exactly once among the four
    expect(
      [...ran.values()].every((n) => n === 1),
      JSON.stringify([...ran]),
    ).toBe(true);
    expect(ran.size).toBe(PREFIX.length - 1 + 2 + 1);
    expect(new Set(builds.map((b) => b.digest)).size).toBe(1);
    const again = await build(f, 'Dockerfile.0', 'again');
    expect(again.result.exitCode, again.result.stderr).toBe(0);
    expect([...again.ran]).toEqual([]);
    expect(again.digest).toBe(builds[0]!.digest);
    console.log(
      `4 builds of one Dockerfile: steps run ${JSON.stringify(Object.fromEntries(ran))}; ${prunes.runs} prunes beside them`,
    );
  }, 120_000);

  it('eight builds of four Dockerfiles sharing a prefix, prune looping beside them: each step runs once', async () => {
    fixture = await fixtureWith(4);
    const f = fixture;
    const running = Promise.all([0, 1, 2, 3, 0, 1, 2, 3].map((n, i) => build(f, `Dockerfile.${n}`, `overlap${i}`)));
    const [builds, prunes] = await Promise.all([running, pruneLoop(f, [], running, 8)]);
    for (const b of builds) expect(b.result.exitCode, b.result.stderr).toBe(0);
    expect(prunes.failures).toEqual([]);
    const ran = totals(builds);
    expect(
      [...ran.values()].every((n) => n === 1),
      JSON.stringify([...ran]),
    ).toBe(true);
    // the prefix (base unpack + 4 steps) once, and 2 RUNs per variant ('ENV' makes no step)
    expect(ran.size).toBe(1 + (PREFIX.length - 1) + 4 * 2);
    for (let n = 0; n < 4; n++) {
      expect(builds[n]!.digest).toBe(builds[n + 4]!.digest);
      const again = await build(f, `Dockerfile.${n}`, `again${n}`);
      expect(again.result.exitCode, again.result.stderr).toBe(0);
      expect([...again.ran]).toEqual([]);
      expect(again.digest).toBe(builds[n]!.digest);
    }
    expect(new Set(builds.map((b) => b.digest)).size).toBe(4);
    console.log(
      `8 builds of 4 overlapping Dockerfiles: ${ran.size} steps, each run ${[...new Set(ran.values())].join('/')} time(s); ${prunes.runs} prunes beside them`,
    );
  }, 180_000);

  it('prune --all looping beside four builds never breaks one', async () => {
    fixture = await fixtureWith(2);
    const f = fixture;
    const running = Promise.all([0, 1, 0, 1].map((n, i) => build(f, `Dockerfile.${n}`, `all${i}`)));
    const [builds, prunes] = await Promise.all([running, pruneLoop(f, ['--all'], running)]);
    for (const b of builds) expect(b.result.exitCode, b.result.stderr).toBe(0);
    expect(prunes.failures).toEqual([]);
    // prune --all waits for running builds (and they for it), so it may empty the cache between
    // two builds, and a later one then runs steps again: never more often than once per build
    for (const n of totals(builds).values()) expect(n).toBeLessThanOrEqual(builds.length);
    // what the builds and prunes left is a state dir the next builds use
    const again = await Promise.all([build(f, 'Dockerfile.0', 'after0'), build(f, 'Dockerfile.1', 'after1')]);
    for (const b of again) expect(b.result.exitCode, b.result.stderr).toBe(0);
    console.log(
      `prune --all beside 4 builds: ${prunes.runs} prunes, steps run ${JSON.stringify(Object.fromEntries(totals(builds)))}`,
    );
  }, 180_000);

  it('a build SIGKILLed while it runs a shared step does not block the build waiting for it', async () => {
    fixture = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN sleep 3 && echo slow > /slow\nRUN cat /slow\n` });
    const f = fixture;
    const a = streamBuild(f);
    await a.seen((l) => l.includes('"vertex.start"') && l.includes('RUN sleep 3'));
    const b = streamBuild(f);
    await b.seen((l) => l.includes('another build is making this step'));
    a.child.kill('SIGKILL');
    expect((await a.exit).code).not.toBe(0);
    const done = await b.exit;
    expect(done.code, done.stderr).toBe(0);
    // the waiter took the dead build's lock over and ran the step itself
    expect(done.stderr).toMatch(/"vertex.start","vertex":\{[^}]*RUN sleep 3/);
    // sweeps what the killed build left (its container) before the state dir goes
    expect((await runCli(['prune'], { env: { TSBUILD_ROOT: f.stateRoot } })).exitCode).toBe(0);
  }, 60_000);
});

/** A build whose progress lines can be waited for while it runs. */
function streamBuild(f: Fixture): {
  child: ChildProcess;
  seen(match: (line: string) => boolean): Promise<void>;
  exit: Promise<{ code: number | null; stderr: string }>;
} {
  const child = spawn(
    TSBUILD,
    [
      ...ALLOW_FIXTURE_BASES,
      '--progress=json',
      '-o',
      `type=oci,dest=${join(f.dir, `${Math.random()}.tar`)}`,
      f.context,
    ],
    {
      env: { ...process.env, TSBUILD_ROOT: f.stateRoot },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  const waiters: { match: (line: string) => boolean; resolve(): void }[] = [];
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
    for (const w of [...waiters]) {
      if (stderr.split('\n').some(w.match)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stderr })),
  );
  return {
    child,
    exit,
    seen: (match) =>
      new Promise<void>((resolve, reject) => {
        if (stderr.split('\n').some(match)) return resolve();
        waiters.push({ match, resolve });
        void exit.then(() => reject(new Error(`the build ended before the line awaited:\n${stderr}`)));
      }),
  };
}
