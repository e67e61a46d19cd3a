import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deadToken, liveProcess } from '../../test/helpers/owner-tokens.js';
import { isOwnerAlive, ownerInName, ownerToken } from './owner.js';
import { acquireFileMutex, StateLock, withFileMutex } from './state-lock.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsbuild-lock-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('owner tokens', () => {
  it('tell live processes from dead ones, and are found in file names', () => {
    expect(isOwnerAlive(ownerToken())).toBe(true);
    expect(isOwnerAlive(deadToken())).toBe(false);
    expect(isOwnerAlive('garbage')).toBe(false);
    expect(ownerInName(`.pending-s123-${ownerToken()}-abcd`)).toBe(ownerToken());
    expect(ownerInName('mnt-abcdef')).toBeUndefined();
  });

  it('count a killed process its parent has not reaped (a zombie) as dead', async () => {
    const { token, child } = liveProcess();
    expect(isOwnerAlive(token)).toBe(true);
    // kill(2) directly, so node's child handle does not reap it before we look
    process.kill(child.pid!, 'SIGKILL');
    let state = '';
    for (let i = 0; i < 200 && state !== 'Z'; i++) {
      state = spawnSync('ps', ['-o', 'stat=', '-p', String(child.pid)], { encoding: 'utf8' })
        .stdout.trim()
        .slice(0, 1);
    }
    if (state === 'Z') expect(isOwnerAlive(token)).toBe(false);
    await new Promise((r) => child.once('exit', r));
    expect(isOwnerAlive(token)).toBe(false);
  });
});

describe('StateLock', () => {
  it('lets builds share and keeps GC out while one runs', async () => {
    const a = new StateLock(root);
    const release = await a.acquireShared();
    const other = liveProcess();
    try {
      // a live lease of another process blocks a non-waiting exclusive
      await writeFile(join(a.dir, `build-${other.token}`), '');
      expect(await a.acquireExclusive({ wait: false })).toBeUndefined();
      expect(await readdir(a.dir)).not.toContain('exclusive');
    } finally {
      other.kill();
    }
    await release();
  });

  it('ignores and removes leases of killed builds', async () => {
    const lock = new StateLock(root);
    await mkdir(lock.dir, { recursive: true });
    await writeFile(join(lock.dir, `build-${deadToken()}`), '');
    const release = await lock.acquireExclusive({ wait: false });
    expect(release).toBeDefined();
    expect((await readdir(lock.dir)).filter((n) => n.startsWith('build-'))).toEqual([]);
    await release!();
  });

  it('makes a build wait for a live GC, and ignores a dead one', async () => {
    const lock = new StateLock(root);
    await mkdir(lock.dir, { recursive: true });
    await writeFile(join(lock.dir, 'exclusive'), deadToken());
    const r1 = await lock.acquireShared();
    await r1();
    const gc = liveProcess();
    await writeFile(join(lock.dir, 'exclusive'), gc.token);
    const waits: string[] = [];
    const pending = lock.acquireShared((m) => waits.push(m));
    await new Promise((r) => setTimeout(r, 250));
    expect(waits).toHaveLength(1);
    gc.kill();
    const r2 = await pending;
    await r2();
  });

  it('waiting exclusive takes over when the build finishes', async () => {
    const lock = new StateLock(root);
    await mkdir(lock.dir, { recursive: true });
    const b = liveProcess();
    await writeFile(join(lock.dir, `build-${b.token}`), '');
    const got = lock.acquireExclusive({ wait: true });
    await new Promise((r) => setTimeout(r, 150));
    b.kill();
    const release = await got;
    expect(release).toBeDefined();
    await release!();
  });
});

describe('withFileMutex', () => {
  it('serialises critical sections and takes over a dead holder', async () => {
    const path = join(root, 'm.lock');
    // Many rounds: the takeover race (two waiters both removing the dead holder's file) is rare.
    for (let round = 0; round < 40; round++) {
      await writeFile(path, deadToken());
      const order: string[] = [];
      await Promise.all(
        ['a', 'b', 'c', 'd', 'e'].map((n) =>
          withFileMutex(path, async () => {
            order.push(`${n}+`);
            await new Promise((r) => setTimeout(r, 2));
            order.push(`${n}-`);
          }),
        ),
      );
      for (let i = 0; i < order.length; i += 2) expect(order[i]!.slice(0, 1)).toBe(order[i + 1]!.slice(0, 1));
    }
    expect(await readdir(root)).toEqual([]);
  });
});

describe('acquireFileMutex (step locks held while a step runs)', () => {
  it('waits while a live process holds it and takes it over once that process is SIGKILLed', async () => {
    const path = join(root, 'step.lock');
    const holder = liveProcess();
    await writeFile(path, holder.token);
    let waits = 0;
    let got = false;
    const taking = acquireFileMutex(path, { maxPollMs: 50, onWait: () => waits++ }).then((release) => {
      got = true;
      return release;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toBe(false);
    expect(waits).toBe(1);
    holder.kill();
    const release = await taking;
    expect((await readFile(path, 'utf8')).trim()).toBe(ownerToken());
    await release();
    expect(await readdir(root)).toEqual([]);
  });

  it('stops waiting when the build is cancelled', async () => {
    const path = join(root, 'step.lock');
    const holder = liveProcess();
    try {
      await writeFile(path, holder.token);
      const abort = new AbortController();
      const taking = acquireFileMutex(path, { signal: abort.signal, maxPollMs: 20 });
      setTimeout(() => abort.abort(new Error('cancelled by test')), 100);
      await expect(taking).rejects.toThrow('cancelled by test');
      expect((await readFile(path, 'utf8')).trim()).toBe(holder.token);
    } finally {
      holder.kill();
    }
  });

  it('a release never removes a lock another process took over', async () => {
    const path = join(root, 'step.lock');
    const release = await acquireFileMutex(path);
    const other = liveProcess();
    try {
      await writeFile(path, other.token);
      await release();
      expect((await readFile(path, 'utf8')).trim()).toBe(other.token);
    } finally {
      other.kill();
    }
  });
});
