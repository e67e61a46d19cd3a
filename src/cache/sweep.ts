import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { removeTree } from '../process/remove-tree.js';
import { isOwnerAlive, ownerInName, ownerToken } from '../store/owner.js';
import { isOwnPrivateDir } from './secrets-dir.js';
import { sweepStaleCgroups } from './sweep-cgroups.js';
import { RuntimePaths, stateDirId, type StatePaths } from '../store/state-paths.js';
import { StateLock } from '../store/state-lock.js';
import { ContentStore } from '../store/content-store.js';

/**
 * Removes what killed builds left in the state directory, and only that: every in-flight thing a
 * build makes carries its owner token (its `tmp/<owner>/` dir with mounts, runc bundles and
 * scratch dirs; `.pending-<id>-<owner>-*` snapshots; `.removing-*` snapshots; content/ingest
 * temp files), so a leftover is swept only when its owner no longer runs. Things without a
 * token (older layouts) are swept only when no other build is live. RUN bundles and runc's state
 * live outside the state dir (StatePaths.runtime) and are swept the same way.
 *
 * Order matters: runc containers first (a container still running holds its rootfs mount
 * busy), then mounts (lazily detached, so nothing is ever deleted *through* a mount), then files.
 */
export interface SweepReport {
  containers: number;
  /** Step cgroups runc left (see sweep-cgroups.ts). */
  cgroups: number;
  mounts: number;
  removed: string[];
  /** Runtime dirs of other state dirs whose builds are all gone (sweepDeadRuntimeDirs). */
  runtimeDirs: string[];
  /** `.tmp-*` files of atomic writes whose writer was killed (sweepAtomicTemps). */
  temps: number;
}

/** `deep`: search the whole state dir for killed writers' temp files even if no killed build shows (prune). */
export async function sweepStale(
  paths: StatePaths,
  opts: { othersLive: boolean; deep?: boolean },
): Promise<SweepReport> {
  const report: SweepReport = { containers: 0, cgroups: 0, mounts: 0, removed: [], runtimeDirs: [], temps: 0 };
  const self = ownerToken();
  const dead = (name: string): boolean => {
    const token = ownerInName(name);
    if (!token) return !opts.othersLive;
    return token !== self && !isOwnerAlive(token);
  };

  const staleTmp: string[] = [];
  // /dev/shm is everyone's: its dir is swept only if it is really ours
  const shm = (await isOwnPrivateDir(paths.shmTmpRoot)) ? [paths.shmTmpRoot] : [];
  for (const root of [paths.tmpRoot, paths.runtimeTmpRoot, ...shm]) {
    for (const n of await readdir(root).catch(() => [] as string[])) if (dead(n)) staleTmp.push(join(root, n));
  }
  // Every build keeps a tmp/<owner> dir until it ends: one of a dead owner means a build was
  // killed, and only then is the whole state dir searched for its half-written files.
  const killedBuild = staleTmp.some((d) => dirname(d) === paths.tmpRoot);
  report.containers = await killOrphanContainers(paths.runc, dead);
  // crun's state of a step whose build was killed (crun-runner.ts): its processes go with its
  // cgroup, below; the dir is named as the container, with the build's owner token
  const crunLeft = (await readdir(paths.crun).catch(() => [] as string[])).filter(dead);
  report.containers += crunLeft.length;
  // Step cgroups outlive their build only when runc was killed with it: looked for (~2-4 ms, the
  // machine's cgroup mounts) only where this state dir shows a killed build, and by prune.
  if (staleTmp.length || report.containers || opts.deep) report.cgroups = await sweepStaleCgroups(dead);
  for (const id of crunLeft) await rm(join(paths.crun, id), { recursive: true, force: true }).catch(() => {});
  if (staleTmp.length) report.mounts = await detachMountsUnder(staleTmp);
  for (const dir of staleTmp) {
    await removeTree(dir).catch(() => {});
    report.removed.push(dir);
  }

  for (const name of await readdir(paths.snapshots).catch(() => [] as string[])) {
    if (!(name.startsWith('.pending-') || name.startsWith('.removing-') || name.startsWith('.tmp-')) || !dead(name))
      continue;
    const p = join(paths.snapshots, name);
    await detachMountsUnder([p]);
    await removeTree(p).catch(() => {});
    report.removed.push(p);
  }

  const ingest = new ContentStore(paths.content).ingestDir;
  for (const name of await readdir(ingest).catch(() => [] as string[])) {
    if (name === 'index.lock' || !dead(name)) continue;
    await rm(join(ingest, name), { force: true }).catch(() => {});
    report.removed.push(join(ingest, name));
  }
  if (opts.deep || (await siblingSweepDue(paths.runtime)))
    report.runtimeDirs = await sweepDeadRuntimeDirs(paths.runtime).catch(() => []);
  if (killedBuild || opts.deep) report.temps = await sweepAtomicTemps(paths.root, dead).catch(() => 0);
  return report;
}

/**
 * `.tmp-<name>-<owner>-<rand>` files of atomic writes (atomic-write.ts) a killed build left
 * anywhere in the state dir: records, blob variants and sources, base-image pins, the content
 * store's index and blobs. Layer trees and cache mounts are the images' own files and are not
 * looked into; `tmp/`, snapshots and ingest have their own sweeps above.
 */
export async function sweepAtomicTemps(root: string, dead: (name: string) => boolean): Promise<number> {
  let removed = 0;
  const walk = async (dir: string, rel: string, depth: number): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.name.startsWith('.tmp-') && !e.isDirectory()) {
        if (ownerInName(e.name) && dead(e.name)) {
          await rm(join(dir, e.name), { force: true }).catch(() => {});
          removed++;
        }
        continue;
      }
      if (!e.isDirectory() || depth >= 4 || SWEPT_ELSEWHERE.test(r)) continue;
      await walk(join(dir, e.name), r, depth + 1);
    }
  };
  await walk(root, '', 0);
  return removed;
}

/** Trees sweepAtomicTemps leaves alone: layer contents, cache mounts, and what sweepStale does itself. */
const SWEPT_ELSEWHERE = /^(tmp|cache-mounts|snapshots\/\.[^/]*|snapshots\/[^/]+\/fs|content\/ingest)$/;

/**
 * `/run/tsbuild/<hash>` of a state dir whose builds were killed stays until that state dir is
 * used again, and may hold a container that still runs. Any build sweeps its siblings, under
 * the sibling state dir's own lock: its `state-dir` marker (markRuntimeDir) names it, and only
 * when no build holds a lease there (the exclusive lock is free, taken without waiting) are its
 * containers killed and the dir removed, holding that lock, so a build of it starting meanwhile
 * waits instead of losing its bundle and container to the sweep. A sibling whose state dir is in
 * use, or (when the state dir is gone or it has no marker) with a live owner or a recent change,
 * is left alone.
 * The dir is first renamed to `.removing-<owner>-<hash>`, so two sweepers never clean one dir.
 */
export async function sweepDeadRuntimeDirs(ownRuntime: string, shared = RUNTIME_PARENT): Promise<string[]> {
  const parent = dirname(ownRuntime);
  // only the shared default location (state-dir.ts runtimeRootFor), never a TSBUILD_RUNTIME_DIR's siblings
  if (parent !== shared) return [];
  const removed: string[] = [];
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    const dir = join(parent, name);
    if (name.startsWith('.removing-')) {
      // a sweeper killed while cleaning
      const owner = ownerInName(name);
      if (owner && !isOwnerAlive(owner)) await removeRuntimeDir(dir, removed);
      continue;
    }
    if (dir === ownRuntime || !/^[0-9a-f]{16}$/.test(name)) continue;
    const release = await claimSibling(dir, name);
    if (!release) continue;
    try {
      // No build of its state dir holds a lease, yet a live owner may be in it: a state dir deleted
      // and made again at the same path (as benchmarks do) whose new build is starting its first step.
      if (!(await ownersAllDead(dir))) continue;
      // containers first, from where runc made them (its state names its bundle, under this dir); a
      // live owner's never, whatever the lock said: a state dir deleted and made again at the same
      // path (as benchmarks do) may have a new build's step running here
      await killOrphanContainers(new RuntimePaths(dir).runc, (name) => {
        const owner = ownerInName(name);
        return !owner || !isOwnerAlive(owner);
      });
      const claimed = join(parent, `.removing-${ownerToken()}-${name}`);
      try {
        await rename(dir, claimed);
      } catch {
        continue; // another sweeper took it
      }
      await removeRuntimeDir(claimed, removed);
    } finally {
      await release();
    }
  }
  return removed;
}

const RUNTIME_PARENT = '/run/tsbuild';

/** How often a state dir's builds look through the other state dirs' runtime dirs (prune always does). */
const SIBLING_SWEEP_EVERY_MS = 5 * 60_000;

/**
 * Whether builds should look through the runtime dirs beside `ownRuntime` now, and if so notes
 * that one did, in the shared parent (`.siblings-swept`): reading every sibling's marker cost
 * each build ~6 ms on a machine whose tests left 370 of them, and a dead sibling waits a few
 * minutes unharmed. The note is the parent's, not the state dir's: a state dir's runtime dir goes
 * when its build ends, and a state dir made afresh (CI, benchmarks) would find none.
 */
export async function siblingSweepDue(ownRuntime: string): Promise<boolean> {
  const stamp = join(dirname(ownRuntime), '.siblings-swept');
  const last = (await stat(stamp).catch(() => undefined))?.mtimeMs;
  if (last !== undefined && Date.now() - last < SIBLING_SWEEP_EVERY_MS) return false;
  const now = new Date();
  await (last === undefined ? writeFile(stamp, '') : utimes(stamp, now, now)).catch(() => {});
  return true;
}

/**
 * Leave to sweep runtime dir `dir` (named `name`): the exclusive lock of the state dir its marker
 * names, held until the sweep is done; or, where that state dir is gone, a no-op release once
 * every owner in the dir is dead. Undefined: leave it.
 */
async function claimSibling(dir: string, name: string): Promise<(() => Promise<void>) | undefined> {
  const stateRoot = (await readFile(new RuntimePaths(dir).marker, 'utf8').catch(() => '')).trim();
  if (stateRoot && stateDirId(stateRoot) !== name) return undefined;
  // no marker: its last build removed it, having no container or bundle left (state-session.ts),
  // or a build is between making the dir and marking it, which ownersAllDead's settling covers
  if (!stateRoot || !(await stat(stateRoot).catch(() => undefined))?.isDirectory()) {
    return (await ownersAllDead(dir)) ? async () => {} : undefined;
  }
  return (await new StateLock(stateRoot).acquireExclusive({ wait: false }).catch(() => undefined)) ?? undefined;
}

/**
 * Writes this state dir's runtime marker (see sweepDeadRuntimeDirs) once per build, before its
 * first container. Another build of this state dir ending meanwhile may remove the empty runtime
 * dir between the mkdir and the write: then again. A marker that cannot be written only leaves
 * the dir to this state dir's own sweeps (the safe side), so that is no failure of the build.
 */
export function markRuntimeDir(paths: StatePaths): Promise<void> {
  let done = marked.get(paths);
  if (!done) {
    done = (async () => {
      const root = realpathSync(paths.root);
      for (let tries = 0; tries < 3; tries++) {
        try {
          await mkdir(paths.runtime, { recursive: true });
          await writeFile(paths.runtimeMarker, root);
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return;
        }
      }
    })();
    marked.set(paths, done);
  }
  return done;
}
const marked = new WeakMap<StatePaths, Promise<void>>();

/** How long a runtime dir must have been left untouched before it can be swept. */
const SETTLED_MS = 5000;

async function ownersAllDead(dir: string): Promise<boolean> {
  // A build makes `<dir>/tmp/<owner>` with mkdir -p: for a moment its dir holds no token yet.
  // Any change in the last seconds may be that, and the dir is left for a later sweep.
  const rt = new RuntimePaths(dir);
  for (const d of [dir, rt.tmpRoot, rt.runc, rt.crun]) {
    const st = await stat(d).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs < SETTLED_MS) return false;
  }
  for (const n of await readdir(rt.tmpRoot).catch(() => [] as string[])) {
    const owner = ownerInName(n);
    if (!owner || isOwnerAlive(owner)) return false;
  }
  for (const id of await readdir(rt.runc).catch(() => [] as string[])) {
    const owner = (await containerBundle(rt.runc, id))?.split('/').find((seg) => ownerInName(seg) === seg);
    if (owner && isOwnerAlive(owner)) return false;
  }
  for (const id of await readdir(rt.crun).catch(() => [] as string[])) {
    const owner = ownerInName(id);
    if (owner && isOwnerAlive(owner)) return false;
  }
  return true;
}

async function removeRuntimeDir(dir: string, removed: string[]): Promise<void> {
  const rt = new RuntimePaths(dir);
  await killOrphanContainers(rt.runc, () => true);
  // crun's containers (crun-runner.ts) are killed through their step cgroups, named as them
  const crunIds = new Set(await readdir(rt.crun).catch(() => [] as string[]));
  if (crunIds.size) await sweepStaleCgroups((name) => crunIds.has(name));
  await detachMountsUnder([dir]);
  await rm(dir, { recursive: true, force: true }).catch(() => {});
  removed.push(dir);
}

/** The bundle path runc recorded for container `id`, if its state is readable. */
async function containerBundle(runcRoot: string, id: string): Promise<string | undefined> {
  try {
    const state = JSON.parse(await readFile(join(runcRoot, id, 'state.json'), 'utf8')) as {
      config?: { labels?: string[] };
    };
    return state.config?.labels?.find((l) => l.startsWith('bundle='))?.slice(7);
  } catch {
    return undefined;
  }
}

/** runc containers whose bundle lies in a dead build's tmp dir: killed and deleted. */
async function killOrphanContainers(runcRoot: string, dead: (name: string) => boolean): Promise<number> {
  let ids: string[];
  try {
    ids = await readdir(runcRoot);
  } catch {
    return 0;
  }
  let n = 0;
  for (const id of ids) {
    // no state.json: runc was killed while creating it; `delete -f` clears the dir
    const bundle = await containerBundle(runcRoot, id);
    // The owner is the <owner> segment of the bundle path (tmp/<owner>/… in the runtime dir).
    const owner = bundle?.split('/').find((seg) => ownerInName(seg) === seg);
    if (owner ? !dead(owner) : !dead(id)) continue;
    await runc(runcRoot, ['kill', id, 'KILL']);
    await runc(runcRoot, ['delete', '-f', id]);
    await rm(join(runcRoot, id), { recursive: true, force: true }).catch(() => {});
    n++;
  }
  return n;
}

function runc(root: string, args: string[]): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('runc', ['--root', root, ...args], { stdio: 'ignore' });
    child.on('error', () => resolve());
    child.on('close', () => resolve());
  });
}

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Lazily detaches every mount at or under `dirs`, deepest first; returns how many. */
export async function detachMountsUnder(dirs: string[]): Promise<number> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const points = info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map(unescapeMountinfo)
    .filter((p) => dirs.some((d) => p === d || p.startsWith(d + '/')))
    .sort((a, b) => b.length - a.length);
  for (const p of points) {
    await new Promise<void>((resolve) => {
      const child = spawn('umount', ['-l', p], { stdio: 'ignore' });
      child.on('error', () => resolve());
      child.on('close', () => resolve());
    });
  }
  return points.length;
}
