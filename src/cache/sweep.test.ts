import { accessSync, constants, realpathSync, symlinkSync, unlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deadToken, liveProcess } from '../../test/helpers/owner-tokens.js';
import { ownerToken } from '../store/owner.js';
import { StatePaths, stateDirId } from '../store/state-paths.js';
import { markRuntimeDir, siblingSweepDue, sweepDeadRuntimeDirs, sweepStale } from './sweep.js';

let root: string;
let paths: StatePaths;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsbuild-sweep-'));
  paths = new StatePaths(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(paths.runtime, { recursive: true, force: true });
});

describe('sweepStale', () => {
  it('removes what dead builds left and nothing of live ones', async () => {
    const dead = deadToken();
    const live = ownerToken();
    await mkdir(join(paths.tmpRoot, dead, 'mnt-abc'), { recursive: true });
    await mkdir(join(paths.tmpRoot, live, 'mnt-def'), { recursive: true });
    await mkdir(join(paths.snapshots, `.pending-s1-${dead}-aaaa`, 'fs'), { recursive: true });
    await mkdir(join(paths.snapshots, `.pending-s2-${live}-bbbb`, 'fs'), { recursive: true });
    await mkdir(join(paths.snapshots, `.removing-s3-${dead}-cccc`, 'fs'), { recursive: true });
    await mkdir(join(paths.snapshots, 's4', 'fs'), { recursive: true });
    await mkdir(join(paths.content, 'ingest'), { recursive: true });
    await writeFile(join(paths.content, 'ingest', `${dead}-1234`), 'partial');
    await writeFile(join(paths.content, 'ingest', `${live}-5678`), 'in flight');
    // from an older layout: no owner
    await mkdir(join(paths.tmpRoot, 'mnt-legacy'), { recursive: true });
    // RUN bundles, outside the state dir
    await mkdir(join(paths.runtimeTmpRoot, dead, 'tsbuild-1'), { recursive: true });
    await mkdir(join(paths.runtimeTmpRoot, live, 'tsbuild-2'), { recursive: true });

    const report = await sweepStale(paths, { othersLive: true });
    expect(report.removed).toHaveLength(5);
    expect(await readdir(paths.runtimeTmpRoot)).toEqual([live]);
    expect(await readdir(paths.tmpRoot)).toEqual(expect.arrayContaining([live, 'mnt-legacy']));
    expect((await readdir(paths.tmpRoot)).length).toBe(2);
    expect((await readdir(paths.snapshots)).sort()).toEqual([`.pending-s2-${live}-bbbb`, 's4']);
    expect(await readdir(join(paths.content, 'ingest'))).toEqual([`${live}-5678`]);

    await sweepStale(paths, { othersLive: false });
    expect(await readdir(paths.tmpRoot)).toEqual([live]);
  });

  it("removes a killed build's half-written files anywhere in the state dir, not inside layers or of live writers", async () => {
    const dead = deadToken();
    const live = ownerToken();
    const files = {
      killed: [
        `blob-variants/.tmp-snapshot-s1-gzip.json-${dead}-a1`,
        `blob-sources/.tmp-be76-${dead}-a2`,
        `cache/3f/.tmp-3f00.json-${dead}-a3`,
        `content/.tmp-index.json-${dead}-a4`,
      ],
      kept: [
        `blob-variants/.tmp-snapshot-s2-gzip.json-${live}-b1`,
        `snapshots/s4/fs/.tmp-x-${dead}-b2`,
        'blob-sources/.tmp-no-owner',
      ],
    };
    for (const f of [...files.killed, ...files.kept]) {
      await mkdir(join(root, f, '..'), { recursive: true });
      await writeFile(join(root, f), '{');
    }
    const exists = async (f: string) => (await readdir(join(root, f, '..'))).includes(f.split('/').pop()!);
    // no killed build shows (no tmp/<dead owner>): nothing searched for
    expect((await sweepStale(paths, { othersLive: true })).temps).toBe(0);
    expect(await exists(files.killed[0]!)).toBe(true);
    await mkdir(join(paths.tmpRoot, dead), { recursive: true });
    expect((await sweepStale(paths, { othersLive: true })).temps).toBe(files.killed.length);
    for (const f of files.killed) expect(await exists(f), f).toBe(false);
    for (const f of files.kept) expect(await exists(f), f).toBe(true);
  });
});

const runWritable = (() => {
  try {
    accessSync('/run', constants.W_OK);
    return !process.env.TSBUILD_RUNTIME_DIR;
  } catch {
    return false;
  }
})();

describe('StatePaths.runtime', () => {
  it.skipIf(!runWritable)(
    'is outside the state dir, under /run, and the same for the same state dir however it is named',
    () => {
      expect(paths.runtime.startsWith('/run/tsbuild/')).toBe(true);
      expect(new StatePaths(`${root}/./`).runtime).toBe(paths.runtime);
      expect(new StatePaths(`${root}-other`).runtime).not.toBe(paths.runtime);
      symlinkSync(root, `${root}-link`);
      try {
        expect(new StatePaths(`${root}-link`).runtime).toBe(paths.runtime);
      } finally {
        unlinkSync(`${root}-link`);
      }
      expect(paths.runc).toBe(join(paths.runtime, 'runc'));
    },
  );
});

describe('sweepDeadRuntimeDirs', () => {
  let shared: string;
  beforeEach(async () => {
    shared = await mkdtemp(join(tmpdir(), 'tsbuild-runtime-'));
  });
  afterEach(async () => {
    await rm(shared, { recursive: true, force: true });
  });
  const old = new Date(Date.now() - 60_000);
  async function runtimeDir(name: string, owners: string[], settled = true): Promise<string> {
    const dir = join(shared, name);
    for (const o of owners) await mkdir(join(dir, 'tmp', o, 'tsbuild-1'), { recursive: true });
    await mkdir(join(dir, 'tmp'), { recursive: true });
    await mkdir(join(dir, 'runc'), { recursive: true });
    if (settled) for (const d of [dir, join(dir, 'tmp'), join(dir, 'runc')]) await utimes(d, old, old);
    return dir;
  }

  /** A state dir (under `root`), with a build lease of `leaseOwner` when given, and its runtime dir's name. */
  async function stateDir(name: string, leaseOwner?: string): Promise<{ root: string; id: string }> {
    const dir = join(root, name);
    await mkdir(join(dir, 'locks'), { recursive: true });
    if (leaseOwner) await writeFile(join(dir, 'locks', `build-${leaseOwner}`), '');
    return { root: dir, id: stateDirId(dir) };
  }
  async function marked(state: { root: string; id: string }, owners: string[]): Promise<string> {
    const dir = await runtimeDir(state.id, owners);
    await writeFile(join(dir, 'state-dir'), state.root);
    await utimes(dir, old, old);
    return dir;
  }

  it("removes a runtime dir whose state dir has no running build, under that state dir's lock, and nothing else", async () => {
    const own = await runtimeDir('0000000000000000', [deadToken()]);
    const idle = await stateDir('idle', deadToken());
    await marked(idle, [deadToken()]);
    // a build of it is running (or starting: its lease comes before its first container)
    const other = liveProcess();
    const busy = await stateDir('busy', other.token);
    await marked(busy, [deadToken()]);
    const goneDead = { root: join(root, 'gone-1'), id: stateDirId(join(root, 'gone-1')) };
    await marked(goneDead, [deadToken()]);
    const goneLive = { root: join(root, 'gone-2'), id: stateDirId(join(root, 'gone-2')) };
    await marked(goneLive, [ownerToken()]);
    // no marker (its last build ended with nothing left in it): removed when its owners are dead
    await runtimeDir('1111111111111111', [deadToken()]);
    await runtimeDir('3333333333333333', [ownerToken()]);
    await runtimeDir('4444444444444444', [deadToken()], false); // a build may be marking it now
    const wrong = await runtimeDir('2222222222222222', [deadToken()]);
    await writeFile(join(wrong, 'state-dir'), idle.root); // names a state dir whose id is not its name
    await mkdir(join(shared, `.removing-${deadToken()}-6666666666666666`, 'tmp'), { recursive: true });
    await mkdir(join(shared, `.removing-${ownerToken()}-7777777777777777`, 'tmp'), { recursive: true });
    await mkdir(join(shared, 'not-a-runtime-dir'));

    const removed = await sweepDeadRuntimeDirs(own, shared).finally(() => other.kill());
    expect(removed).toHaveLength(4);
    expect((await readdir(shared)).sort()).toEqual(
      [
        `.removing-${ownerToken()}-7777777777777777`,
        '0000000000000000',
        '2222222222222222',
        '3333333333333333',
        '4444444444444444',
        busy.id,
        goneLive.id,
        'not-a-runtime-dir',
      ].sort(),
    );
    // the idle state dir's lock was taken and let go: a build of it can start
    expect(await readdir(join(idle.root, 'locks'))).toEqual([]);
  });

  it('leaves a runtime dir with a live owner even when its state dir has no lease (a state dir made again at its path)', async () => {
    const own = await runtimeDir('0000000000000000', [deadToken()]);
    const other = liveProcess();
    const remade = await stateDir('remade');
    await marked(remade, [deadToken(), other.token]);
    const removed = await sweepDeadRuntimeDirs(own, shared).finally(() => other.kill());
    expect(removed).toEqual([]);
    expect((await readdir(shared)).sort()).toEqual(['0000000000000000', remade.id].sort());
    expect(await readdir(join(remade.root, 'locks'))).toEqual([]);
  });

  it('leaves the siblings of a runtime dir outside the shared location alone', async () => {
    await runtimeDir('1111111111111111', [deadToken()]);
    expect(await sweepDeadRuntimeDirs(join(shared, 'elsewhere', 'x'), shared)).toEqual([]);
    expect(await readdir(shared)).toEqual(['1111111111111111']);
  });
});

describe('markRuntimeDir', () => {
  it("writes the state dir's path, and a runtime dir it cannot write is no failure of the build", async () => {
    const saved = process.env.TSBUILD_RUNTIME_DIR;
    try {
      process.env.TSBUILD_RUNTIME_DIR = join(root, 'runtime');
      const ok = new StatePaths(root);
      await markRuntimeDir(ok);
      expect(await readFile(ok.runtimeMarker, 'utf8')).toBe(realpathSync(root));
      await writeFile(join(root, 'a-file'), '');
      process.env.TSBUILD_RUNTIME_DIR = join(root, 'a-file', 'runtime');
      await expect(markRuntimeDir(new StatePaths(root))).resolves.toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.TSBUILD_RUNTIME_DIR;
      else process.env.TSBUILD_RUNTIME_DIR = saved;
    }
  });
});

describe('siblingSweepDue', () => {
  it('lets the builds of all state dirs look through their siblings once in five minutes', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'tsbuild-sibling-stamp-'));
    try {
      const own = join(parent, 'aaaaaaaaaaaaaaaa');
      expect(await siblingSweepDue(own)).toBe(true);
      expect(await siblingSweepDue(own)).toBe(false);
      // another state dir's build, or this one's runtime dir made again: the note is the parent's
      expect(await siblingSweepDue(join(parent, 'bbbbbbbbbbbbbbbb'))).toBe(false);
      const sixMinutesAgo = new Date(Date.now() - 6 * 60_000);
      await utimes(join(parent, '.siblings-swept'), sixMinutesAgo, sixMinutesAgo);
      expect(await siblingSweepDue(own)).toBe(true);
      expect(await siblingSweepDue(own)).toBe(false);
      // no runtime dir of its own is made for the note
      expect(await readdir(parent)).toEqual(['.siblings-swept']);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
