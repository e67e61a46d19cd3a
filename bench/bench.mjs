#!/usr/bin/env node
// npm run bench [-- --runs N --workloads chain,context --engines tsbuild,tsbuild-ci,buildkit --cpu-prof]
//
// Times tsbuild against dockerd's BuildKit (when dockerd answers) on ../shared/bench/workloads
// and this repository's bench/workloads, alternating the engines run by run (so load from
// elsewhere hits both alike), and prints medians, the ratio tsbuild/BuildKit and tsbuild's peak
// RSS. Every figure is the wall time of the whole command (or commands: a push row times the
// build and the push), as ../shared/bench/README.md measures the anchors. Rows that start from
// deleted caches (cold, realapp cache-from) delete every engine's first, then sync and drop the
// page cache before timing them: ext4 skips just-freed inodes one by one while their inode table
// is cached, which made the next build's file creation seconds slower at random (see measure).
//
// Engines: `tsbuild` runs as users get it: the bench sets neither TSBUILD_SERVER nor CI, so builds
// go through the warm build server (on by default outside CI; the bench stops if CI is set, and
// prints the mode each tsbuild engine runs in). Its server is the bench's own: a runtime dir of its
// own (XDG_RUNTIME_DIR), started by one build before the workloads and stopped at the end, so its
// peak RSS is of the bench's builds alone. `tsbuild-ci` runs daemonless (TSBUILD_SERVER=0), as CI
// does, on state dirs of its own. Default: tsbuild,buildkit. Peak RSS: tsbuild's own
// (TSBUILD_PEAK_RSS_FILE: the process that built, or the server's lifetime peak), and GNU time's %M
// (the largest process of the command's tree, RUN steps such as npm ci included; the client's
// with the server). Set-up (not timed):
// the workloads are staged under $BENCH_WORK (default /tmp/tsbuild-bench), generated ones by
// their gen.sh; the base images must be in the registry on 127.0.0.1:5000
// (../shared/bench/setup-anchors.sh does that, and starts dockerd; bench/setup-bench-images.sh
// adds the Debian and two-platform bases of realapp and multiplatform).
//
// Workloads (default: all but multiplatform):
//   chain, context, incremental, multistage  ../shared/bench/workloads: cold and no-op (incremental: + edit)
//   many       a generated 1,000-instruction Dockerfile (ENV/LABEL/RUN/COPY): cold, no-op
//   wide       a generated 200-stage DAG (200 small RUN stages, gathered by COPY --from): cold, no-op
//   zstd       chain, cold, exported as an OCI archive with zstd layers (BuildKit in dockerd 20.10
//              has no oci exporter: tsbuild alone)
//   push       context, cached build and push to a new repository of the local registry each run:
//              tsbuild -t REG/NAME --push vs docker build -t REG/NAME + docker push, timed together
//   realapp    a Node app on Debian (apt-get, npm ci, three stages; RUN on the host network): cold,
//              one-file edit, and all-hit from --cache-from on an empty state dir (tsbuild: a
//              registry cache, pushed to the same registry; BuildKit: an inline cache, build + push)
//   multiplatform  two stages for linux/amd64,linux/arm64, cold (issue 14). Only when asked for:
//              BuildKit needs dockerd started with ANCHOR_EMULATION=1 ../shared/bench/setup-anchors.sh,
//              and dockerd 20.10's docker build takes one platform, so BuildKit's figure is two
//              single-platform builds one after the other.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const RUNS = Number(opt('runs', '3'));
const BENCH_DIR = resolve(opt('bench-dir', process.env.BENCH_DIR ?? join(REPO, '..', 'shared', 'bench')));
const WORK = resolve(opt('work', process.env.BENCH_WORK ?? '/tmp/tsbuild-bench'));
const WORKLOADS = opt('workloads', 'chain,context,incremental,multistage,many,wide,zstd,push,realapp').split(',');
const REGISTRY = '127.0.0.1:5000';
const DOCKER = process.env.DOCKER ?? '/usr/bin/docker';
const CPU_PROF = args.includes('--cpu-prof');
const TSBUILD = join(REPO, 'bin', 'tsbuild');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

function haveDocker() {
  return spawnSync(DOCKER, ['info'], { stdio: 'ignore' }).status === 0;
}
const engines = opt('engines', haveDocker() ? 'tsbuild,buildkit' : 'tsbuild').split(',');
/** The tsbuild engines and what they add to the environment. */
const TSBUILD_ENGINES = { tsbuild: {}, 'tsbuild-ci': { TSBUILD_SERVER: '0' } };
const isTsbuild = (e) => Object.hasOwn(TSBUILD_ENGINES, e);
const unknown = engines.filter((e) => !isTsbuild(e) && e !== 'buildkit');
if (unknown.length) {
  console.error(`unknown engine ${unknown.join(', ')}: the engines are tsbuild, tsbuild-ci and buildkit`);
  process.exit(2);
}
const tsbuildEngines = engines.filter(isTsbuild);
if (!engines.includes('buildkit'))
  console.error('dockerd is not answering (or --engines leaves it out): timing tsbuild alone, no ratios');

if (spawnSync('curl', ['-fsS', 'http://127.0.0.1:5000/v2/'], { stdio: 'ignore' }).status !== 0) {
  console.error(
    'the registry on 127.0.0.1:5000 is not running; the workloads build FROM 127.0.0.1:5000/tsb-base:latest.\nRun: sudo ' +
      join(BENCH_DIR, 'setup-anchors.sh'),
  );
  process.exit(1);
}
if (!existsSync(join(REPO, 'dist', 'cli', 'main.js')))
  execFileSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'inherit' });
const { inCi, serverEligible, serverPaths } = await import(
  pathToFileURL(join(REPO, 'dist', 'cli', 'server-protocol.js')).href
);
if (engines.includes('tsbuild') && inCi(process.env) && !process.env.TSBUILD_SERVER) {
  console.error(
    'the environment says CI (CI, JENKINS_URL, TF_BUILD…): the tsbuild engine would build daemonless, as in CI, not as users get it. Unset it, or say TSBUILD_SERVER=1 or 0 (and use the tsbuild-ci engine for daemonless figures).',
  );
  process.exit(2);
}
/** The bench's own build server lives here (see the top): a fresh server, stopped at the end. */
const SERVER_RUNTIME = tsbuildEngines.length ? mkdtempSync('/tmp/tsbuild-bench-run-') : undefined;

/** A workload's sources: this repository's bench/workloads first, then the shared ones (read-only). */
function workloadSource(name) {
  const own = join(REPO, 'bench', 'workloads', name);
  return existsSync(own) ? own : join(BENCH_DIR, 'workloads', name);
}

function stage(wl, src = wl) {
  const dst = join(WORK, 'work', wl);
  rmSync(dst, { recursive: true, force: true });
  mkdirSync(dst, { recursive: true });
  cpSync(workloadSource(src), dst, { recursive: true, filter: (p) => !p.includes('/data/') });
  if (existsSync(join(dst, 'gen.sh'))) execFileSync('bash', [join(dst, 'gen.sh'), dst], { stdio: 'ignore' });
  return dst;
}

/** Runs commands one after the other; returns their summed wall seconds and the first's peak RSS. */
async function timedAll(cmds) {
  let secs = 0;
  let rssKb;
  for (const [cmd, cmdArgs, env] of cmds) {
    const r = await timed(cmd, cmdArgs, env);
    secs += r.secs;
    rssKb ??= r.rssKb;
  }
  return { secs, rssKb };
}

/** Runs a command (not timed) and throws with its stderr when it fails. */
function must(cmd, cmdArgs, env = {}) {
  const r = spawnSync(cmd, cmdArgs, { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`${cmd} ${cmdArgs.join(' ')} failed (${r.status}):\n${(r.stderr ?? '').slice(-2000)}`);
  return r.stdout;
}

/** Runs a command; returns wall seconds and (with GNU time) peak RSS in kB. */
function timed(cmd, cmdArgs, env) {
  return new Promise((res, rej) => {
    const full = TIME ? [TIME, ['-f', '%M', cmd, ...cmdArgs]] : [cmd, cmdArgs];
    const t0 = process.hrtime.bigint();
    const child = spawn(full[0], full[1], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => {
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) return rej(new Error(`${cmd} ${cmdArgs.join(' ')} failed (${code}):\n${err.slice(-2000)}`));
      const rss = TIME ? Number(err.trim().split('\n').pop()) : undefined;
      res({ secs, rssKb: rss });
    });
  });
}

let peakFiles = 0;

/** A tsbuild engine: `name` in TSBUILD_ENGINES, its own state dirs. */
function tsbuildEngine(name) {
  // --cpu-prof profiles the process it starts: with the server that would be the client
  const env = {
    ...TSBUILD_ENGINES[name],
    ...(CPU_PROF ? { TSBUILD_SERVER: '0' } : {}),
    ...(SERVER_RUNTIME ? { XDG_RUNTIME_DIR: SERVER_RUNTIME } : {}),
  };
  return {
    env,
    /** How its builds run, from the same rule bin/tsbuild follows. */
    mode: serverEligible(['.'], { ...process.env, ...env }, process.geteuid?.()) ? 'build server' : 'daemonless',
    state: (wl) => join(WORK, 'state', name === 'tsbuild' ? wl : `${name}-${wl}`),
    prune(wl) {
      rmSync(this.state(wl), { recursive: true, force: true });
    },
    /** `o.args` replace `-t tsb-WL:TAG`; `o.state` another state dir. Adds `ownRssKb` (TSBUILD_PEAK_RSS_FILE). */
    async build(wl, dir, tag, o = {}) {
      const args = ['--progress=plain', ...(o.args ?? ['-t', `tsb-${wl}:${tag}`]), dir];
      const peakFile = join(WORK, 'peak-rss', `${process.pid}-${peakFiles++}`);
      mkdirSync(dirname(peakFile), { recursive: true });
      const runEnv = { ...env, TSBUILD_ROOT: o.state ?? this.state(wl), TSBUILD_PEAK_RSS_FILE: peakFile };
      let r;
      if (!CPU_PROF) r = await timed(TSBUILD, args, runEnv);
      else {
        // node refuses --cpu-prof in NODE_OPTIONS: start the entry script as bin/tsbuild would
        const prof = ['--cpu-prof', `--cpu-prof-dir=${join(WORK, 'profiles', wl)}`];
        const handOver = process.env.NODE_EXTRA_CA_CERTS
          ? { NODE_EXTRA_CA_CERTS: '', TSBUILD_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS }
          : {};
        r = await timed(process.execPath, [...prof, `${TSBUILD}.cjs`, ...args], { ...runEnv, ...handOver });
      }
      const own = existsSync(peakFile) ? readFileSync(peakFile, 'utf8').split('\n').filter(Boolean).map(Number) : [];
      rmSync(peakFile, { force: true });
      return { ...r, ownRssKb: own.length ? Math.max(...own) : undefined };
    },
  };
}

const engine = {
  ...Object.fromEntries(tsbuildEngines.map((e) => [e, tsbuildEngine(e)])),
  buildkit: {
    prune(wl) {
      spawnSync(DOCKER, ['image', 'rm', '-f', `tsb-${wl}:docker`], { stdio: 'ignore' });
      spawnSync(DOCKER, ['builder', 'prune', '-af'], { stdio: 'ignore' });
    },
    /** `o.args` replace `-t tsb-WL:docker`; `o.network` (default none: dockerd runs with --bridge=none); `o.after` more commands, timed too. */
    async build(wl, dir, _tag, o = {}) {
      const args = ['build', '--network', o.network ?? 'none', ...(o.args ?? ['-t', `tsb-${wl}:docker`]), dir];
      const r = await timedAll([[DOCKER, args, BUILDKIT_ENV], ...(o.after ?? [])]);
      return { secs: r.secs }; // the client's RSS says nothing about the daemon's
    },
  },
};

const BUILDKIT_ENV = { DOCKER_BUILDKIT: '1', BUILDKIT_PROGRESS: 'plain' };
const edit = (dir, file = 'mod07.js') => appendFileSync(join(dir, 'src', file), `// edit ${process.hrtime.bigint()}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** sync, then drop the page cache (see measure's `settle`); root only, as the bench is. */
function evictCaches() {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '1');
  } catch (err) {
    console.error(`bench: cannot drop the page cache (${err.message}): cold rows may show ext4's slow runs`);
  }
}

const results = [];
/**
 * Times `scenario` of `wl`: `before(engine, run)` prepares each run (not timed); `build(engine, run)`
 * is the timed part (default: the engine's plain build of `dir`). Engines in `only` are the ones
 * that can do it (the row shows `-` for the others); `note` is printed under the table.
 */
async function measure(wl, scenario, dir, before, opts = {}) {
  const rowEngines = engines.filter((e) => !opts.only || opts.only.includes(e));
  const times = Object.fromEntries(rowEngines.map((e) => [e, []]));
  /** Per tsbuild engine: GNU time's %M of each run, and tsbuild's own peak. */
  const rss = Object.fromEntries(rowEngines.filter(isTsbuild).map((e) => [e, { tree: [], own: [] }]));
  const failed = {};
  for (let i = 0; i < RUNS; i++) {
    // alternate which engine goes first, so drift in machine load falls on both
    const order = i % 2 ? [...rowEngines].reverse() : rowEngines;
    if (opts.settle) {
      // every engine's caches deleted first, then written out and evicted: ext4 skips a freed
      // inode while its inode table block is in the buffer cache with a recent deletion time, one
      // lookup each (find_inode_bit/recently_deleted), and a build making 5,000 files just after
      // the last run's 5,000 were deleted took 4.3-6.6 s instead of 2.6-3.0 s, at random, for
      // either engine (perf; 5 slow runs of 8 without the eviction, none of 8 with it). A cold
      // build on a new machine meets none of that. The page cache goes for both engines alike.
      for (const e of order) if (!failed[e]) await before(e, i);
      evictCaches();
    }
    for (const e of order) {
      if (failed[e]) continue;
      if (!opts.settle) await before(e, i);
      try {
        const r = await (opts.build ? opts.build(e, i) : engine[e].build(wl, dir, 'bench'));
        times[e].push(r.secs);
        if (r.rssKb && rss[e]) rss[e].tree.push(r.rssKb);
        if (r.ownRssKb && rss[e]) rss[e].own.push(r.ownRssKb);
      } catch (err) {
        // BuildKit failing a row (dockerd 20.10 on the 200-stage DAG: "flightcontrol: exceeded retry
        // timeout") is a result too: the row shows `-` and says why; tsbuild failing stops the bench
        if (isTsbuild(e)) throw err;
        const why =
          String(err.message)
            .split('\n')
            .filter((l) => /error|failed|timeout/i.test(l))
            .slice(-1)[0] ?? '';
        failed[e] = why.trim().slice(0, 300);
        times[e] = [];
      }
    }
  }
  // Runs i of both engines ran back to back: the median of their ratios is what the machine's
  // drift over the series (seconds here, on a VM whose disk and memory speed wander) cannot move.
  const pairRatios = Object.fromEntries(
    Object.keys(rss).map((e) => [
      e,
      times.buildkit?.length && times[e].length ? median(times[e].map((t, i) => t / times.buildkit[i])) : undefined,
    ]),
  );
  const mb = (kbs) => (kbs.length ? Math.max(...kbs) / 1024 : undefined);
  const row = {
    workload: wl,
    scenario,
    runs: RUNS,
    ...Object.fromEntries(rowEngines.map((e) => [e, times[e].length ? median(times[e]) : undefined])),
    ...(opts.note || Object.keys(failed).length
      ? {
          note: [
            opts.note,
            ...Object.entries(failed).map(([e, why]) => `${wl} ${scenario}: ${e} failed (${why}), so \`-\``),
          ]
            .filter(Boolean)
            .join('; '),
        }
      : {}),
    pairRatio: pairRatios.tsbuild,
    pairRatios,
    times,
    /** Per tsbuild engine, in MB: `own` tsbuild's own peak, `withChildren` GNU time's %M. */
    peakRss: Object.fromEntries(Object.entries(rss).map(([e, r]) => [e, { own: mb(r.own), withChildren: mb(r.tree) }])),
    modes: Object.fromEntries(Object.keys(rss).map((e) => [e, engine[e].mode])),
  };
  results.push(row);
  console.error(
    `${wl} ${scenario}: ${rowEngines.map((e) => `${e} ${times[e].length ? median(times[e]).toFixed(3) : '-'}s [${times[e].map((t) => t.toFixed(2)).join(' ')}]`).join(', ')}`,
  );
}

// Issue 16's targets: every row's ratio <= 0.8, and these in absolute terms on the bench machine
// (2 cores); peak RSS <= 150 MB (own column)
const TARGETS = {
  'chain cold': 'ratio <= 0.8, <= 2.0 s',
  'chain no-op': 'ratio <= 0.8, <= 0.10 s',
  'context cold': 'ratio <= 0.8',
  'context no-op': 'ratio <= 0.8, <= 0.10 s',
  'incremental cold': 'ratio <= 0.8',
  'incremental no-op': 'ratio <= 0.8, <= 0.10 s',
  'incremental edit': 'ratio <= 0.8, <= 0.20 s',
  'multistage cold': 'ratio <= 0.8, <= 3.3 s (critical path 3.0 s)',
  'multistage no-op': 'ratio <= 0.8, <= 0.10 s',
  'many cold': 'ratio <= 0.8',
  'many no-op': 'ratio <= 0.8, <= 0.10 s',
  'wide cold': 'ratio <= 0.8',
  'wide no-op': 'ratio <= 0.8, <= 0.10 s',
  'push push': 'ratio <= 0.8',
  'realapp cold': 'ratio <= 0.8',
  'realapp edit': 'ratio <= 0.8, <= 0.20 s',
  'realapp cache-from': 'ratio <= 0.8, <= 1 s',
};

const notes = [];
const inRegistry = (ref) =>
  spawnSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { stdio: 'ignore' }).status === 0;

/** Cold, then no-op (the cold series left each engine with everything cached). */
async function coldAndNoop(wl, src = wl) {
  const dir = stage(wl, src);
  await measure(wl, 'cold', dir, async (e) => engine[e].prune(wl), { settle: true });
  // one build not timed: an engine whose cold build failed (BuildKit on wide) finishes here, so
  // the no-op series times a no-op (a failure here too leaves its no-op row `-`)
  for (const e of engines) await engine[e].build(wl, dir, 'bench').catch(() => {});
  await measure(wl, 'no-op', dir, async () => {});
  return dir;
}

/** chain, cold, into an OCI archive with zstd layers: BuildKit in dockerd 20.10 has no oci exporter. */
async function zstdRow() {
  const wl = 'zstd';
  const dir = stage(wl, 'chain');
  const dest = join(WORK, 'zstd.oci.tar');
  await measure(wl, 'cold export', dir, async (e) => engine[e].prune(wl), {
    settle: true,
    only: tsbuildEngines,
    build: (e) => engine[e].build(wl, dir, 'bench', { args: ['-o', `type=oci,dest=${dest},compression=zstd`] }),
    note: 'zstd cold export: chain built cold into -o type=oci,compression=zstd; dockerd 20.10\'s BuildKit has no oci exporter (docker build -o type=oci: "exporter oci could not be found"), so tsbuild alone',
  });
}

/** context, cached, pushed to a new repository each run: the push uploads every layer. */
async function pushRow() {
  const wl = 'push';
  const dir = stage(wl, 'context');
  // the cached state the engines push from
  for (const e of engines) await engine[e].build(wl, dir, 'bench');
  const name = (e, i) => `${REGISTRY}/tsb-bench-push-${e}-${process.pid}-${i}:1`;
  // one push first (not timed), so every timed run finds the layers in the registry, for every engine
  for (const e of tsbuildEngines) await engine[e].build(wl, dir, 'bench', { args: ['-t', name(e, 'warm'), '--push'] });
  if (engines.includes('buildkit'))
    await engine.buildkit.build(wl, dir, 'bench', {
      args: ['-t', name('buildkit', 'warm')],
      after: [[DOCKER, ['push', name('buildkit', 'warm')], {}]],
    });
  await measure(wl, 'push', dir, async () => {}, {
    build: (e, i) =>
      isTsbuild(e)
        ? engine[e].build(wl, dir, 'bench', { args: ['-t', name(e, i), '--push'] })
        : engine.buildkit.build(wl, dir, 'bench', {
            args: ['-t', name(e, i)],
            after: [[DOCKER, ['push', name(e, i)], {}]],
          }),
    note: 'push: the context workload, cached, pushed to a new repository of 127.0.0.1:5000 each run, after one push not timed, so each timed push mounts the layers from another repository, both engines alike (tsbuild -t REG/NAME --push; BuildKit: docker build -t REG/NAME then docker push, timed together)',
  });
}

/** A Node app on Debian: cold, one-file edit, all-hit from --cache-from on an empty state dir. */
async function realappRows() {
  const wl = 'realapp';
  if (!inRegistry(`${REGISTRY}/tsb-debian:bookworm`)) {
    notes.push(
      `realapp: skipped, ${REGISTRY}/tsb-debian:bookworm is not in the registry (run bench/setup-bench-images.sh)`,
    );
    return;
  }
  const dir = stage(wl);
  // npm ci in the container trusts what the host trusts (a TLS proxy's CA, if the network has one)
  const hostCa = [process.env.NODE_EXTRA_CA_CERTS, process.env.SSL_CERT_FILE].find((f) => f && existsSync(f));
  if (hostCa) cpSync(hostCa, join(dir, 'host-ca.pem'));
  else writeFileSync(join(dir, 'host-ca.pem'), '');
  const cacheRef = `${REGISTRY}/tsb-bench-realapp-cache:tsbuild`;
  const inlineRef = `${REGISTRY}/tsb-bench-realapp:inline`;
  const host = { network: 'host' };
  const build = (e) => engine[e].build(wl, dir, 'bench', isTsbuild(e) ? {} : host);
  await measure(wl, 'cold', dir, async (e) => engine[e].prune(wl), { build, settle: true });
  await measure(wl, 'edit', dir, async () => edit(dir, 'greet.js'), { build });
  // the caches the all-hit builds start from (not timed): tsbuild's registry cache, BuildKit's inline cache
  if (tsbuildEngines.length)
    await engine[tsbuildEngines[0]].build(wl, dir, 'bench', {
      args: ['-t', 'tsb-realapp:bench', '--cache-to', `type=registry,ref=${cacheRef}`],
    });
  if (engines.includes('buildkit')) {
    must(
      DOCKER,
      ['build', '--network', 'host', '--build-arg', 'BUILDKIT_INLINE_CACHE=1', '-t', inlineRef, dir],
      BUILDKIT_ENV,
    );
    must(DOCKER, ['push', inlineRef]);
  }
  const fresh = (e) => join(WORK, 'state', `realapp-fresh-${e}`);
  const out = (e) => `${REGISTRY}/tsb-bench-realapp:${e}`;
  await measure(
    wl,
    'cache-from',
    dir,
    async (e) => {
      if (isTsbuild(e)) rmSync(fresh(e), { recursive: true, force: true });
      else {
        spawnSync(DOCKER, ['image', 'rm', '-f', out(e), inlineRef], { stdio: 'ignore' });
        spawnSync(DOCKER, ['builder', 'prune', '-af'], { stdio: 'ignore' });
      }
    },
    {
      build: (e) =>
        isTsbuild(e)
          ? engine[e].build(wl, dir, 'bench', {
              state: fresh(e),
              args: ['-o', `type=registry,name=${out(e)}`, '--cache-from', `type=registry,ref=${cacheRef}`],
            })
          : engine.buildkit.build(wl, dir, 'bench', {
              ...host,
              args: ['--cache-from', inlineRef, '-t', out(e)],
              after: [[DOCKER, ['push', out(e)], {}]],
            }),
      settle: true,
      note: 'realapp cache-from: an empty state dir, every step from the cache, the image pushed to the same registry (tsbuild: --cache-from type=registry + -o type=registry; BuildKit: docker build --cache-from an inline-cache image + docker push, timed together)',
    },
  );
}

/** Whether dockerd's BuildKit runs arm64 steps (dockerd started with ANCHOR_EMULATION=1): a tiny RUN, failing fast if not. */
function buildkitEmulates() {
  const dir = join(WORK, 'work', 'emulation-probe');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${REGISTRY}/tsb-multi:latest\nRUN uname -m\n`);
  const r = spawnSync(
    DOCKER,
    ['build', '--network', 'none', '--platform', 'linux/arm64', '-t', 'tsb-emulation-probe:1', dir],
    {
      env: { ...process.env, ...BUILDKIT_ENV },
      stdio: 'ignore',
      timeout: 120_000,
    },
  );
  return r.status === 0;
}

/** Two stages for linux/amd64 and linux/arm64, cold. */
async function multiplatformRows() {
  const wl = 'multiplatform';
  if (!inRegistry(`${REGISTRY}/tsb-multi:latest`)) {
    notes.push(
      `multiplatform: skipped, ${REGISTRY}/tsb-multi:latest is not in the registry (run bench/setup-bench-images.sh)`,
    );
    return;
  }
  const dir = stage(wl);
  const emulates = engines.includes('buildkit') && buildkitEmulates();
  if (engines.includes('buildkit') && !emulates)
    notes.push(
      "multiplatform: dockerd's BuildKit cannot run arm64 steps (dockerd was not started with ANCHOR_EMULATION=1 ../shared/bench/setup-anchors.sh): tsbuild alone",
    );
  const platforms = ['linux/amd64', 'linux/arm64'];
  await measure(wl, 'cold', dir, async (e) => engine[e].prune(wl), {
    settle: true,
    only: emulates ? [...tsbuildEngines, 'buildkit'] : tsbuildEngines,
    build: (e) =>
      isTsbuild(e)
        ? engine[e].build(wl, dir, 'bench', {
            args: ['--platform', platforms.join(','), '-t', 'tsb-multiplatform:bench'],
          })
        : engine.buildkit.build(wl, dir, 'bench', {
            args: ['--platform', platforms[0], '-t', 'tsb-multiplatform:docker-amd64'],
            after: [
              [
                DOCKER,
                ['build', '--network', 'none', '--platform', platforms[1], '-t', 'tsb-multiplatform:docker-arm64', dir],
                BUILDKIT_ENV,
              ],
            ],
          }),
    note: "multiplatform cold: tsbuild --platform linux/amd64,linux/arm64 (one build, an index); dockerd 20.10's docker build takes one platform, so BuildKit's figure is two single-platform builds one after the other",
  });
}

/** The bench's server: one build (of a context with nothing to run) starts it; resolves with its socket and pid. */
async function startBenchServer() {
  const dir = join(WORK, 'work', 'server-warm-up');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nLABEL warm-up=1\n');
  // the id `npm run bundle` wrote, as the clients name the server by it (scripts/write-client-info.mjs)
  const installId = readFileSync(join(REPO, 'dist', 'bundle', 'client-info'), 'utf8').split('\n')[0];
  const paths = serverPaths(installId, { ...process.env, ...engine.tsbuild.env });
  const until = Date.now() + 15_000;
  for (let i = 0; !existsSync(paths.pid) && Date.now() < until; i++) {
    // the first build starts it; builds go on until it answers (the second is usually served)
    if (i % 10 === 0) await engine.tsbuild.build('server-warm-up', dir, 'warm-up');
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!existsSync(paths.pid)) return undefined;
  return { ...paths, pid: Number(readFileSync(paths.pid, 'utf8')) };
}

const server = engine.tsbuild?.mode === 'build server' ? await startBenchServer() : undefined;
for (const e of tsbuildEngines) {
  const how =
    engine[e].mode === 'daemonless'
      ? `daemonless${CPU_PROF ? ' (--cpu-prof profiles the process that builds)' : ''}`
      : server
        ? `through the bench's build server, pid ${server.pid} (${server.socket})`
        : 'through the build server, which did not start (its builds run daemonless; see the log in ' +
          `${SERVER_RUNTIME}/tsbuild)`;
  console.error(`${e}: ${how}`);
}
try {
  for (const wl of WORKLOADS) {
    if (wl === 'zstd') await zstdRow();
    else if (wl === 'push') await pushRow();
    else if (wl === 'realapp') await realappRows();
    else if (wl === 'multiplatform') await multiplatformRows();
    else {
      const dir = await coldAndNoop(wl);
      if (wl === 'incremental') await measure(wl, 'edit', dir, async () => edit(dir));
    }
  }
} finally {
  if (server) {
    try {
      process.kill(server.pid, 'SIGTERM');
    } catch {}
  }
  if (SERVER_RUNTIME) rmSync(SERVER_RUNTIME, { recursive: true, force: true });
}

const fmt = (x) => (x === undefined ? '-' : x.toFixed(3));
const mbText = (x) => (x === undefined ? '-' : `${x.toFixed(0)} MB`);
const withBuildkit = engines.includes('buildkit');
const engineLabel = (e) => `${e} (${engine[e].mode === 'daemonless' ? 'daemonless' : 'server'})`;
const lines = [
  `tsbuild bench: medians of ${RUNS} runs, wall seconds of the whole command, engines alternating (${new Date().toISOString()})`,
  '',
  `| workload | scenario | engine | tsbuild s | ${withBuildkit ? 'BuildKit s | ratio | pair ratio | ' : ''}tsbuild own peak RSS | peak RSS incl. RUN children (%M) | target |`,
  `|---|---|---|---:|${withBuildkit ? '---:|---:|---:|' : ''}---:|---:|---|`,
  ...results.flatMap((r) =>
    Object.keys(r.peakRss).map(
      (e) =>
        `| ${r.workload} | ${r.scenario} | ${engineLabel(e)} | ${fmt(r[e])} | ${withBuildkit ? `${fmt(r.buildkit)} | ${r.buildkit && r[e] ? (r[e] / r.buildkit).toFixed(2) : '-'} | ${r.pairRatios[e]?.toFixed(2) ?? '-'} | ` : ''}${mbText(r.peakRss[e].own)} | ${mbText(r.peakRss[e].withChildren)} | ${TARGETS[`${r.workload} ${r.scenario}`] ?? ''} |`,
    ),
  ),
  '',
  "tsbuild own peak RSS: TSBUILD_PEAK_RSS_FILE, the peak of the process that built (with the server: the server's peak over its life, the bench's builds so far). peak RSS incl. RUN children: GNU time's %M, the largest process of the command's tree, a RUN step's included (with the server: the client's).",
  ...(withBuildkit
    ? [
        'ratio: of the two medians; pair ratio: median of the ratios of runs made back to back (less moved by the machine drifting over the series). `-`: the engine cannot do it (see the notes).',
      ]
    : []),
  ...[...results.flatMap((r) => (r.note ? [r.note] : [])), ...notes].map((n, i) => `${i ? '' : '\n'}- ${n}`),
];
mkdirSync(WORK, { recursive: true });
writeFileSync(join(WORK, 'results.json'), JSON.stringify(results, null, 2));
console.log(lines.join('\n'));
console.error(`\nraw times: ${join(WORK, 'results.json')}${CPU_PROF ? `; profiles: ${join(WORK, 'profiles')}` : ''}`);
