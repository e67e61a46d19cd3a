import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stepCgroupParents, sweepStaleCgroups } from './sweep-cgroups.js';

// Needs root and a mounted cgroup hierarchy (a real runc host), as RUN does.
const canRun = process.getuid?.() === 0 && existsSync('/proc/self/cgroup');
const deadName = `tsbuild-deadbeef.${process.pid}.1-${Date.now().toString(16)}`;
const liveName = `tsbuild-deadbeef.${process.pid}.2-${Date.now().toString(16)}`;

describe.skipIf(!canRun)('sweepStaleCgroups', () => {
  const made: string[] = [];
  afterEach(async () => {
    for (const d of made.splice(0)) await rmdir(d).catch(() => {});
  });

  it("removes a dead owner's step cgroups where runc makes them, killing what runs there, and leaves others", async () => {
    const parents = await stepCgroupParents();
    expect(parents.length).toBeGreaterThan(0);
    for (const p of parents) {
      for (const name of [deadName, liveName]) {
        await mkdir(join(p, name));
        made.push(join(p, name));
      }
    }
    const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
    const exited = new Promise((r) => sleeper.on('exit', r));
    await writeFile(join(parents[0]!, deadName, 'cgroup.procs'), String(sleeper.pid));

    const removed = await sweepStaleCgroups((name) => name === deadName);
    expect(removed).toBe(parents.length);
    await exited;
    for (const p of parents) {
      expect(existsSync(join(p, deadName)), p).toBe(false);
      expect(existsSync(join(p, liveName)), p).toBe(true);
    }
  });
});
