/**
 * Every RUN step runs in a cgroup of its own with a pids limit: a step that starts more
 * processes than TSBUILD_PIDS_LIMIT sees fork fail and the build says so; nothing it started
 * outlives it, and its cgroup is gone after the build.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, type Fixture } from '../helpers/build-fixture.js';

/** Processes on the host running `sleep <marker>`. */
function sleepers(marker: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8') === `sleep\0${marker}\0`) n++;
    } catch {
      // gone
    }
  }
  return n;
}

describe('RUN pids cgroup', () => {
  let fx: Fixture | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });

  it('a step that starts more processes than the limit fails, and leaves none behind', async () => {
    const marker = String(3000 + (process.pid % 1000));
    // 40 background sleeps, then exit: with no limit the step succeeds at once (the kernel kills
    // the sleeps when the shell, pid 1 of the container, exits)
    fx = await makeFixture({
      Dockerfile: `FROM ${FROM_BASE}\nRUN for i in $(seq 1 40); do sleep ${marker} & done; echo all started\n`,
    });
    const res = await fx.build([], { env: { TSBUILD_PIDS_LIMIT: '20' } });
    expect(res.exitCode, res.stderr).toBe(1);
    expect(res.stderr).toMatch(/can't fork|Resource temporarily unavailable/);
    expect(res.stderr).toMatch(/limit of 20 processes and threads .*TSBUILD_PIDS_LIMIT/);
    for (let i = 0; i < 50 && sleepers(marker) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(sleepers(marker)).toBe(0);

    const ok = await fx.build([], { env: { TSBUILD_PIDS_LIMIT: '100' } });
    expect(ok.exitCode, ok.stderr).toBe(0);
  }, 60_000);

  it('runs each step in its own cgroup, removed after the step', async () => {
    fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN cat /proc/self/cgroup > /cg\n` });
    const res = await fx.build();
    expect(res.exitCode, res.stderr).toBe(0);
    const lines = (await (await fx.unpack()).read('/cg')).trim().split('\n');
    // the step's own cgroup in the hierarchies whose controllers hold its limits and counters;
    // under crun only there (step-cgroup.ts), under runc in every one
    const own = lines.filter((l) => /(^|,)(memory|pids|devices|cpuacct)(,|$)/.test(l.split(':')[1]!));
    expect(own.length, lines.join('\n')).toBe(4);
    const leaves = new Set(own.map((l) => l.split(':')[2]!.split('/').pop()));
    expect(leaves.size, lines.join('\n')).toBe(1);
    const leaf = [...leaves][0]!;
    expect(leaf).toMatch(/^tsbuild-[a-z0-9]+\.\d+\.\d+-[0-9a-f]{16}$/);
    // no cgroup namespace: the paths are the host's; the step's cgroup is gone from every hierarchy
    for (const line of lines.filter((l) => l.split(':')[2]!.split('/').pop() === leaf)) {
      const [, controllers, path] = line.split(':') as [string, string, string];
      const mount =
        controllers === ''
          ? ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((m) => existsSync(join(m, 'cgroup.controllers')))
          : `/sys/fs/cgroup/${controllers.replace('name=', '')}`;
      if (mount && existsSync(mount)) expect(existsSync(join(mount, path)), join(mount, path)).toBe(false);
    }
  }, 60_000);

  it('a bad TSBUILD_PIDS_LIMIT is an environment error, not a crash', async () => {
    fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN true\n` });
    const res = await fx.build([], { env: { TSBUILD_PIDS_LIMIT: 'lots' } });
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toMatch(/TSBUILD_PIDS_LIMIT="lots" is not a number of processes/);
  }, 60_000);
});
