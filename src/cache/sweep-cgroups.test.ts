import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { liveProcess } from '../../test/helpers/owner-tokens.js';
import { stepCgroupParents } from '../process/cgroup-hierarchies.js';
import { sweepStaleCgroups } from './sweep-cgroups.js';

// Needs root and a mounted cgroup hierarchy (a real runc host), as RUN does.
const canRun = process.getuid?.() === 0 && existsSync('/proc/self/cgroup');
// Both names carry a live process's token, so the sweeps of builds running beside this test leave
// them alone; which one counts as dead is this test's predicate's say.
const holder = liveProcess(600);
afterAll(() => holder.kill());
const holderToken = holder.token;
const deadName = `tsbuild-${holderToken}-1${Date.now().toString(16)}`;
const liveName = `tsbuild-${holderToken}-2${Date.now().toString(16)}`;
const untokenedName = `tsbuild-${Date.now().toString(16)}`;

describe.skipIf(!canRun)('sweepStaleCgroups', () => {
  const made: string[] = [];
  afterEach(async () => {
    for (const d of made.splice(0)) await rmdir(d).catch(() => {});
  });

  it("removes a dead owner's step cgroups where runc makes them, killing what runs there, and leaves others", async () => {
    const parents = await stepCgroupParents();
    expect(parents.length).toBeGreaterThan(0);
    for (const p of parents) {
      for (const name of [deadName, liveName, untokenedName]) {
        await mkdir(join(p, name));
        made.push(join(p, name));
      }
    }
    const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
    const exited = new Promise((r) => sleeper.on('exit', r));
    await writeFile(join(parents[0]!, deadName, 'cgroup.procs'), String(sleeper.pid));

    // a sweep that finds no other build on its own state dir calls every untokened name dead. Only
    // this test's names are called dead: `name !== liveName` called the step cgroups of builds
    // other tests run beside this one dead too, and the sweep killed their RUN steps (exit 137)
    const removed = await sweepStaleCgroups((name) => name === deadName || name === untokenedName);
    expect(removed).toBe(parents.length);
    await exited;
    for (const p of parents) {
      expect(existsSync(join(p, deadName)), p).toBe(false);
      expect(existsSync(join(p, liveName)), p).toBe(true);
      expect(existsSync(join(p, untokenedName)), p).toBe(true);
    }
  });
});
