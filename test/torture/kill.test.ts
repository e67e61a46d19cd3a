/**
 * SIGKILL and SIGINT at seeded random moments in each phase of a build (resolving a registry
 * base, COPY of a context of ~800 files and 8 MB, RUN, export to an OCI archive, push to a
 * registry on 127.0.0.1), each on a fresh state dir, then a rebuild on that state dir. The image
 * must have the digest of a clean build, and once the rebuild finished nothing may be left: no
 * mounts, runc containers, in-flight files, scratch dirs, processes or `<dest>.tmp-*`. A SIGINT
 * must also end the build with exit 130, nothing at the output dest and no tag set.
 *
 * The moment: a clean calibration build records when each phase starts and ends (the markers
 * `--progress=plain` prints); a trial waits for the phase's start marker and kills after a
 * fraction, drawn from the seeded PRNG, of the phase's calibrated length. TORTURE_SEED picks
 * other moments, TORTURE_SCALE runs more trials per phase and signal.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_LAYOUT, REPO_ROOT } from '../helpers/build-fixture.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { sleep, startCli, type ChildOutcome } from './lib/child.js';
import { destroyState, leftovers } from './lib/leftovers.js';
import { printedDigest, registryDigest, storedNames } from './lib/oci.js';
import { fileSeed, seededRng, tortureScale, tortureSeed } from './lib/prng.js';

const SCALE = tortureScale();
const TRIALS = Math.max(1, Math.round(SCALE));
const EPOCH = '1700000000';

type Signal = 'SIGKILL' | 'SIGINT';
type PhaseName = 'resolve' | 'copy' | 'run' | 'export' | 'push';
interface Window {
  start: number;
  end: number;
}

/** Where a phase starts (undefined: at spawn) and the line that ends it, given its start line. */
const PHASES: Record<PhaseName, { start?: RegExp; end(startLine?: string): RegExp }> = {
  resolve: { end: () => /^#\d+ DONE /m },
  copy: { start: /^#\d+ \[[^\]]+\] COPY /, end: (l) => new RegExp(`^${l!.split(' ')[0]} DONE `) },
  run: { start: /^#\d+ \[[^\]]+\] RUN /, end: (l) => new RegExp(`^${l!.split(' ')[0]} DONE `) },
  export: { start: /^#- exporting to oci archive /, end: () => /^#- exporting to oci archive .*: done/ },
  push: { start: /^#- pushing /, end: () => /^#- pushing .*: done/ },
};

const WHILE: Record<PhaseName, string> = {
  resolve: 'resolving and pulling the base',
  copy: 'COPY copies the context',
  run: 'a RUN runs',
  export: 'exporting to an OCI archive',
  push: 'pushing to a registry',
};

const tally = {
  tried: 0,
  held: 0,
  late: 0,
  missed: 0,
  byPhase: new Map<string, { tried: number; held: number; late: number }>(),
};

describe('kills at random moments', () => {
  let dir: string;
  let context: string;
  let reg: TestRegistry;
  let reference: string;
  const windows = new Map<PhaseName, Window>();
  let trial = 0;

  const argsFor = (name: string, dest: string): string[] => [
    '--progress=plain',
    '--insecure-registry',
    reg.host,
    '-t',
    `${reg.host}/torture/${name}:latest`,
    '--push',
    '-o',
    `type=oci,dest=${dest}`,
    context,
  ];
  const envFor = (state: string): NodeJS.ProcessEnv => ({ TSBUILD_ROOT: state, SOURCE_DATE_EPOCH: EPOCH });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-torture-kill-'));
    context = join(dir, 'context');
    reg = await startRegistry();
    await reg.push(BASE_LAYOUT, 'latest', 'torture/base:latest');
    await mkdir(join(context, 'data', 'many'), { recursive: true });
    for (let i = 0; i < 800; i++)
      await writeFile(join(context, 'data', 'many', `f${i}.txt`), `file ${i}\n`.repeat(1 + (i % 50)));
    await writeFile(join(context, 'data', 'big.bin'), randomBytes(8 << 20));
    await writeFile(
      join(context, 'Dockerfile'),
      [
        `FROM ${reg.host}/torture/base:latest`,
        'COPY data/ /data/',
        'RUN sleep 0.5 && find /data -type f | sort | xargs cat | md5sum > /sum && seq 1 20000 > /seq',
        '',
      ].join('\n'),
    );

    // The clean build: the reference digest, and when each phase starts and ends.
    const state = join(dir, 'state-clean');
    const dest = join(dir, 'clean.tar');
    const child = startCli(argsFor('clean', dest), { env: envFor(state) });
    const r = await child.result;
    expect(r.exitCode, r.stderr).toBe(0);
    reference = printedDigest(r.stderr)!;
    expect(reference).toBeDefined();
    for (const [name, phase] of Object.entries(PHASES) as [PhaseName, (typeof PHASES)[PhaseName]][]) {
      const startLine = phase.start ? child.lines.find((l) => phase.start!.test(l.text)) : { text: '', at: 0 };
      const endRe = phase.end(startLine?.text);
      const endLine = child.lines.find((l) => endRe.test(l.text));
      if (!startLine || !endLine) throw new Error(`the clean build printed no ${name} phase:\n${r.stderr}`);
      windows.set(name, { start: startLine.at, end: endLine.at });
    }
    await destroyState(state);
  }, 180_000);

  afterAll(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    const phases = [...tally.byPhase]
      .map(([k, v]) => `${k} ${v.held}/${v.tried}${v.late ? ` (${v.late} late)` : ''}`)
      .join(', ');
    console.log(
      `[torture] kill: ${tally.held} of ${tally.tried} kills held (${phases}); ${tally.late} landed after their phase, ${tally.missed} missed the build; TORTURE_SEED ${tortureSeed()}, TORTURE_SCALE ${SCALE}`,
    );
  });

  /** One kill in `phase`, then the checks; returns what did not hold. */
  async function killOnce(phaseName: PhaseName, sig: Signal, i: number, retried = false): Promise<string[]> {
    const n = trial++;
    const name = `kill-${n}`;
    const state = join(dir, `state-${n}`);
    const dest = join(dir, `out-${n}.tar`);
    const phase = PHASES[phaseName];
    const w = windows.get(phaseName)!;
    // one generator per trial: a trial picked with -t gets the same moment as in the full run
    const fraction = seededRng(fileSeed(`kill ${phaseName} ${sig} ${i}`)).next();
    const label = `${sig} in ${phaseName} at ${(fraction * 100).toFixed(0)}% (trial ${n})`;
    const problems: string[] = [];
    try {
      const child = startCli(argsFor(name, dest), { env: envFor(state) });
      const started = phase.start ? await child.waitFor(phase.start) : 0;
      if (started === undefined) {
        // nothing was sent yet: once is a fluke of the shared machine, twice is a broken build
        const r = await child.result;
        if (!retried) return await killOnce(phaseName, sig, i, true);
        tally.missed++;
        return [`${label}: the build ended before the phase started, twice (exit ${r.exitCode}):\n${r.stderr}`];
      }
      const startLine = phase.start ? child.lines.find((l) => phase.start!.test(l.text))!.text : undefined;
      await sleep(Math.max(0, started + fraction * (w.end - w.start) - child.elapsed()));
      const late = child.seen(phase.end(startLine));
      const finished = child.seen(/^image sha256:/);
      if (!child.signal(sig)) {
        tally.missed++;
        await child.result;
        return [];
      }
      const r: ChildOutcome = await child.result;
      const stat = tally.byPhase.get(`${phaseName} ${sig}`) ?? { tried: 0, held: 0, late: 0 };
      tally.byPhase.set(`${phaseName} ${sig}`, stat);
      tally.tried++;
      stat.tried++;
      if (late) {
        tally.late++;
        stat.late++;
      }

      if (sig === 'SIGINT' && !finished && r.exitCode === 0) {
        // The interrupt came while the push named the image, which is seen through (it cannot be
        // taken back): then the build finishes, and everything must be in place.
        if (!existsSync(dest)) problems.push(`${label}: finished after the interrupt, but nothing is at dest`);
        if (!(await registryDigest(reg.url, `torture/${name}`, 'latest')))
          problems.push(`${label}: finished after the interrupt, but the registry has no tag`);
      } else if (sig === 'SIGINT' && !finished) {
        // death by the default SIGINT action (before tsbuild's handler is installed) is what a shell reports as 130 too
        if (r.exitCode !== 130 && r.signal !== 'SIGINT')
          problems.push(`${label}: exit ${r.exitCode ?? r.signal}, not 130:\n${r.stderr.slice(-1500)}`);
        if (existsSync(dest)) problems.push(`${label}: the archive was written at dest after the interrupt`);
        const beside = (await readdir(dir)).filter((f) => f.startsWith(`${basename(dest)}.tmp-`));
        if (beside.length) problems.push(`${label}: left beside the output: ${beside.join(', ')}`);
        if (await registryDigest(reg.url, `torture/${name}`, 'latest'))
          problems.push(`${label}: the image was pushed and tagged after the interrupt`);
        if ((await storedNames(state)).length)
          problems.push(`${label}: a tag was stored after the interrupt: ${(await storedNames(state)).join(', ')}`);
      }

      const again = startCli(argsFor(name, dest), { env: envFor(state) });
      const r2 = await again.result;
      if (r2.exitCode !== 0) {
        problems.push(`${label}: the rebuild failed (exit ${r2.exitCode ?? r2.signal}):\n${r2.stderr.slice(-2000)}`);
      } else {
        const digest = printedDigest(r2.stderr);
        if (digest !== reference) problems.push(`${label}: the rebuild made ${digest}, a clean build ${reference}`);
        const pushed = await registryDigest(reg.url, `torture/${name}`, 'latest');
        if (pushed !== reference)
          problems.push(`${label}: the registry holds ${pushed} after the rebuild, not ${reference}`);
      }
      let left = await leftovers(state, { dests: [dest], pids: [child.pid, again.pid] });
      // a killed container's runc (or a killed build's tool shell) exits a moment after the sweep kills what it waited for
      if (left.length)
        left = await sleep(1000).then(() => leftovers(state, { dests: [dest], pids: [child.pid, again.pid] }));
      if (left.length) problems.push(`${label}: left after the rebuild finished:\n  ${left.join('\n  ')}`);
      if (problems.length === 0) {
        tally.held++;
        stat.held++;
      }
      return problems;
    } finally {
      await destroyState(state);
      await rm(dest, { force: true });
    }
  }

  for (const sig of ['SIGKILL', 'SIGINT'] as const) {
    for (const phase of Object.keys(PHASES) as PhaseName[]) {
      it(
        `${sig} while ${WHILE[phase]}`,
        async () => {
          const problems: string[] = [];
          for (let i = 0; i < TRIALS; i++) problems.push(...(await killOnce(phase, sig, i)));
          expect(problems).toEqual([]);
        },
        60_000 * TRIALS,
      );
    }
  }
});

describe('a SIGKILLed build leaves no tool-shell files', () => {
  it('removes the output files of requests still running when tsbuild died', async () => {
    const module = join(REPO_ROOT, 'dist/process/tool-shell.js');
    const script = `import { runInToolShell } from ${JSON.stringify(module)}; runInToolShell('sleep', ['0.5'], {}); console.log('asked'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const mine = async (): Promise<string[]> =>
      (await readdir(tmpdir())).filter((n) => n.startsWith(`tsbuild-tool-${child.pid}-`));
    try {
      await new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
      for (let i = 0; i < 20 && !(await mine()).length; i++) await sleep(20);
      expect(await mine()).not.toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
    for (let i = 0; i < 50 && (await mine()).length; i++) await sleep(100);
    expect(await mine()).toEqual([]);
  });
});
