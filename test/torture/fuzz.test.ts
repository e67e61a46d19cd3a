/**
 * A mutation fuzzer over real Dockerfiles: the fixtures' (each with a copy of its context) and,
 * when present, BuildKit's parser corpus (../shared/conformance, with FROM pointed at the local
 * base half the time). Each mutant is built by the real CLI in a network namespace of its own
 * (nothing leaves the machine), two at a time, on one shared state dir so the unmutated steps are
 * cache hits, with no output (nothing to export). No mutant may exit 70, print a stack trace or
 * "internal error", or hang (killed after HANG_MS). Findings are minimised and shown.
 *
 * 300 mutants by default; TORTURE_SCALE multiplies that, TORTURE_SEED picks other ones.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE, REPO_ROOT } from '../helpers/build-fixture.js';
import { CORPUS, corpusExists } from '../conformance/corpus.js';
import { startCli, type ChildOutcome } from './lib/child.js';
import { destroyState } from './lib/leftovers.js';
import { minimise } from './lib/minimise.js';
import { mutate } from './lib/mutate.js';
import { fileSeed, seededRng, tortureScale, tortureSeed } from './lib/prng.js';

const SCALE = tortureScale();
const COUNT = Math.round(300 * SCALE);
const HANG_MS = 30_000;
const PARALLEL = 2;
const rng = seededRng(fileSeed('fuzz'));

interface Seed {
  name: string;
  text: string;
  context: string;
}

/** What is wrong with an outcome, or undefined when it is an acceptable answer (exit 0, 1 or 2). */
function verdict(r: ChildOutcome): string | undefined {
  if (r.timedOut) return 'hang';
  if (r.exitCode === 70) return 'exit 70';
  const out = r.stdout + r.stderr;
  if (/^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m.test(out)) return 'stack trace';
  if (/internal error/i.test(out)) return 'internal error';
  if (r.exitCode === null) return `signal ${r.signal}`;
  if (![0, 1, 2].includes(r.exitCode)) return `exit ${r.exitCode}`;
  return undefined;
}

/** The corpus's FROM lines name Docker Hub images: the local base instead (fixtures use it already). */
function localBase(seed: Seed): string {
  return seed.name.startsWith('fixtures/')
    ? seed.text
    : seed.text.replace(/^(\s*FROM\s+)(?!--)\S+/gim, `$1${FROM_BASE}`);
}

/** Long runs of one unit written as `(unit)×N`, so a finding with a 20,000-character word can be read. */
function compact(s: string): string {
  return s.replace(/(.{1,4}?)\1{15,}/gs, (run, unit: string) => `(${unit})×${run.length / unit.length}`);
}

async function inParallel<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

describe("the fuzzer's verdict", () => {
  const outcome = (o: Partial<ChildOutcome>): ChildOutcome => ({
    exitCode: 1,
    signal: null,
    stdout: '',
    stderr: '',
    timedOut: false,
    ms: 1,
    ...o,
  });
  it('takes exit 0, 1 and 2 and flags exit 70, stack traces, internal errors and hangs', () => {
    expect([0, 1, 2].map((exitCode) => verdict(outcome({ exitCode })))).toEqual([undefined, undefined, undefined]);
    expect(verdict(outcome({ exitCode: 70 }))).toBe('exit 70');
    expect(
      verdict(outcome({ stderr: 'TypeError: x is undefined\n    at parse (/app/dist/bundle/tsbuild.cjs:10:5)\n' })),
    ).toBe('stack trace');
    expect(verdict(outcome({ stderr: 'RangeError: Maximum call stack size exceeded\n    at /app/x.js:1:2\n' }))).toBe(
      'stack trace',
    );
    expect(verdict(outcome({ stderr: 'internal error: boom\n' }))).toBe('internal error');
    expect(verdict(outcome({ exitCode: null, signal: 'SIGKILL', timedOut: true }))).toBe('hang');
    expect(verdict(outcome({ exitCode: 134 }))).toBe('exit 134');
    expect(verdict(outcome({ stderr: '#7 0.012 the log says: at least one\n    2 | RUN x\n' }))).toBeUndefined();
  });
});

describe('mutated Dockerfiles', () => {
  let dir: string;
  let state: string;
  let seeds: Seed[];
  const tally = new Map<string, number>();
  const findings: string[] = [];
  let n = 0;

  const build = (text: string, context: string): Promise<ChildOutcome> => {
    const file = join(dir, 'mutants', `m${n++}.Dockerfile`);
    return writeFile(file, text)
      .then(
        () =>
          startCli(['--progress=plain', '-f', file, context], {
            env: { TSBUILD_ROOT: state },
            timeoutMs: HANG_MS,
            isolateNetwork: true,
          }).result,
      )
      .finally(() => rm(file, { force: true }));
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-torture-fuzz-'));
    state = join(dir, 'state');
    await mkdir(join(dir, 'mutants'));
    await mkdir(join(dir, 'contexts'));
    // Contexts are copies: a mutant's `RUN --mount=type=bind,rw` must not reach the checkout.
    await symlink(join(REPO_ROOT, 'fixtures/base'), join(dir, 'contexts', 'base'));
    seeds = [];
    for (const name of (await readdir(join(REPO_ROOT, 'fixtures'))).sort()) {
      const dockerfile = join(REPO_ROOT, 'fixtures', name, 'Dockerfile');
      if (!existsSync(dockerfile)) continue;
      const context = join(dir, 'contexts', name);
      await cp(join(REPO_ROOT, 'fixtures', name), context, { recursive: true, verbatimSymlinks: true });
      seeds.push({ name: `fixtures/${name}`, text: await readFile(dockerfile, 'utf8'), context });
    }
    const empty = join(dir, 'contexts', 'empty');
    await mkdir(empty);
    if (corpusExists) {
      for (const group of ['parser-testfiles', 'parser-testfiles-negative']) {
        for (const name of (await readdir(join(CORPUS, group))).sort()) {
          const text = await readFile(join(CORPUS, group, name, 'Dockerfile'), 'utf8').catch(() => undefined);
          if (text !== undefined) seeds.push({ name: `${group}/${name}`, text, context: empty });
        }
      }
      const heredocs = JSON.parse(await readFile(join(CORPUS, 'heredoc', 'parser-heredocs.json'), 'utf8')) as {
        documents: { name: string; dockerfile: string }[];
      };
      for (const d of heredocs.documents) seeds.push({ name: `heredoc/${d.name}`, text: d.dockerfile, context: empty });
    }
    // The unmutated seeds once each: they fill the cache and must pass the same checks.
    await inParallel(seeds, async (s) => {
      const r = await build(localBase(s), s.context);
      const bad = verdict(r);
      if (bad) findings.push(`${bad} on the unmutated ${s.name}:\n${r.stderr.slice(-1500)}`);
    });
  }, 300_000);

  afterAll(async () => {
    if (state) await destroyState(state);
    if (dir) await rm(dir, { recursive: true, force: true });
    const byCode = [...tally]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
    console.log(
      `[torture] fuzz: ${n} builds of ${[...tally.values()].reduce((a, b) => a + b, 0)} mutants of ${seeds?.length ?? 0} Dockerfiles; by outcome ${byCode}; TORTURE_SEED ${tortureSeed()}, TORTURE_SCALE ${SCALE}`,
    );
  });

  it(
    `${COUNT} mutants: no exit 70, no stack trace, no hang`,
    async () => {
      const fixtures = seeds.filter((s) => s.name.startsWith('fixtures/'));
      const corpus = seeds.filter((s) => !s.name.startsWith('fixtures/'));
      const mutants = Array.from({ length: COUNT }, () => {
        // half from the fixtures, which build far; the corpus has many files but little to build
        const seed = corpus.length && rng.chance(0.5) ? rng.pick(corpus) : rng.pick(fixtures);
        // a few keep their Docker Hub names (the unreachable-registry path costs ~1.5 s a build)
        const text = rng.chance(0.1) ? seed.text : localBase(seed);
        return { seed, ...mutate(text, rng) };
      });
      await inParallel(mutants, async (m) => {
        const r = await build(m.text, m.seed.context);
        const bad = verdict(r);
        const key = r.timedOut ? 'hang' : r.exitCode === null ? `signal ${r.signal}` : `exit ${r.exitCode}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
        if (!bad) return;
        const small = await minimise(
          m.text,
          async (t) => verdict(await build(t, m.seed.context)) === bad,
          bad === 'hang' ? 4 : 100,
        );
        findings.push(
          `${bad} from ${m.seed.name} after ${m.edits.join('; ')}\nminimised (${small.length} bytes): ${compact(JSON.stringify(small))}\n${compact(
            r.stderr
              .split('\n')
              .filter((l) => /error|^\s+at /i.test(l))
              .join('\n') || r.stderr,
          ).slice(-1500)}`,
        );
      });
      expect(findings).toEqual([]);
    },
    600_000 * SCALE,
  );
});
