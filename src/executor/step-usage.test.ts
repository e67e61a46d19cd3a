import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processStartTime } from '../store/owner.js';
import { initRunning, readStepUsage, removeKeptContainer } from './step-usage.js';

/** Plain directories with the counter files a kernel would show, standing in for cgroup dirs. */
describe('step usage', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'step-usage-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function cgroup(name: string, files: Record<string, string>): Promise<string> {
    const d = join(dir, name);
    await mkdir(d, { recursive: true });
    for (const [f, text] of Object.entries(files)) await writeFile(join(d, f), text);
    return d;
  }

  it('reads cgroup v1 counters (hybrid hosts too: v1 memory and cpuacct beside the unified dir)', async () => {
    const paths = {
      memory: await cgroup('memory/s', {
        'memory.max_usage_in_bytes': '33554432\n',
        'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
        'memory.failcnt': '0\n',
      }),
      cpuacct: await cgroup('cpuacct/s', { 'cpuacct.usage': '1500000000\n' }),
      '': await cgroup('unified/s', {}),
    };
    expect(await readStepUsage(paths)).toEqual({ peakMemoryBytes: 33554432, cpuSeconds: 1.5, oomKills: 1 });
  });

  it('takes memory.failcnt for an OOM where the kernel has no oom_kill line', async () => {
    const paths = {
      memory: await cgroup('memory/s', {
        'memory.max_usage_in_bytes': '100\n',
        'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\n',
        'memory.failcnt': '3\n',
      }),
    };
    expect((await readStepUsage(paths)).oomKills).toBe(1);
  });

  it('reads cgroup v2 counters', async () => {
    const paths = {
      '': await cgroup('v2/s', {
        'memory.peak': '2097152\n',
        'memory.events': 'low 0\nhigh 0\nmax 4\noom 1\noom_kill 2\noom_group_kill 0\n',
        'cpu.stat': 'usage_usec 250000\nuser_usec 200000\nsystem_usec 50000\n',
      }),
    };
    expect(await readStepUsage(paths)).toEqual({ peakMemoryBytes: 2097152, cpuSeconds: 0.25, oomKills: 2 });
  });

  it('leaves out what the kernel does not count (no memory.peak before 5.19)', async () => {
    const paths = { '': await cgroup('v2/s', { 'memory.events': 'oom_kill 0\n', 'cpu.stat': 'usage_usec 10\n' }) };
    expect(await readStepUsage(paths)).toEqual({ cpuSeconds: 0.00001, oomKills: 0 });
  });

  it('reads a kept container, then removes its cgroups and its state as runc delete would', async () => {
    const runcRoot = join(dir, 'runc');
    const memory = join(dir, 'memory', 'tsbuild-x');
    const cpuacct = join(dir, 'cpuacct', 'tsbuild-x');
    // rmdir takes only empty dirs, as a cgroup's (its files are the kernel's): these hold none
    await mkdir(memory, { recursive: true });
    await mkdir(cpuacct, { recursive: true });
    await mkdir(join(runcRoot, 'tsbuild-x'), { recursive: true });
    await writeFile(
      join(runcRoot, 'tsbuild-x', 'state.json'),
      JSON.stringify({ id: 'tsbuild-x', cgroup_paths: { memory, cpuacct } }),
    );
    expect(await removeKeptContainer(runcRoot, 'tsbuild-x')).toEqual({ oomKills: 0 });
    for (const gone of [memory, cpuacct, join(runcRoot, 'tsbuild-x')])
      await expect(stat(gone)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('tells a running init from a gone one and from a later process that reuses its pid', () => {
    const start = Number(processStartTime(process.pid));
    expect(initRunning({ init_process_pid: process.pid, init_process_start: start })).toBe(true);
    expect(initRunning({ init_process_pid: process.pid, init_process_start: start + 1 })).toBe(false);
    expect(initRunning({ init_process_pid: 2 ** 22 + 1, init_process_start: start })).toBe(false);
    expect(initRunning({})).toBe(false);
  });

  it('does not orphan a container whose init still runs (runc killed outright): it is killed', async () => {
    const init = spawn('sleep', ['60'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => init.on('exit', (_code, signal) => resolve(signal)));
    const start = Number(processStartTime(init.pid!));
    const runcRoot = join(dir, 'runc');
    await mkdir(join(runcRoot, 'tsbuild-live'), { recursive: true });
    // a state runc itself does not take (no config): `runc delete -f` fails, the last resort acts
    await writeFile(
      join(runcRoot, 'tsbuild-live', 'state.json'),
      JSON.stringify({ id: 'tsbuild-live', init_process_pid: init.pid, init_process_start: start }),
    );
    await removeKeptContainer(runcRoot, 'tsbuild-live');
    expect(await exited).toBe('SIGKILL');
  });

  it('has nothing to read when runc recorded no container', async () => {
    expect(await removeKeptContainer(join(dir, 'runc'), 'tsbuild-none')).toBeUndefined();
  });
});
