/**
 * What a state dir must not hold once no build runs on it, and the teardown that removes
 * everything a torture test's builds may have left (also when a test failed half-way).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { StatePaths } from '../../../src/store/state-paths.js';
import { detachMountsUnder } from '../../../src/cache/sweep.js';

const run = promisify(execFile);

/** Names of in-flight files (atomic writes, pending and half-removed snapshots). */
const IN_FLIGHT = /^\.(tmp|pending|removing)-/;

export interface LeftoverOptions {
  /** Output files of the builds: `<dest>.tmp-*` beside them are leftovers of a killed write. */
  dests?: string[];
  /** pids of killed builds: their tool-shell files in the temp dir are leftovers. */
  pids?: number[];
}

export async function leftovers(stateRoot: string, opts: LeftoverOptions = {}): Promise<string[]> {
  const paths = new StatePaths(stateRoot);
  const runtime = paths.runtime;
  const out: string[] = [];
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  for (const l of mountinfo.split('\n')) {
    const point = l.split(' ')[4];
    if (point && [stateRoot, runtime].some((d) => point === d || point.startsWith(d + '/'))) out.push(`mount ${point}`);
  }
  out.push(...(await inFlightFiles(stateRoot)).map((p) => `in-flight ${p.slice(stateRoot.length + 1)}`));
  for (const n of await list(paths.tmpRoot)) out.push(`tmp/${n}`);
  for (const n of await list(join(paths.content, 'ingest'))) if (n !== 'index.lock') out.push(`content/ingest/${n}`);
  for (const n of await list(paths.runtimeTmpRoot)) out.push(`runtime tmp/${n}`);
  // runc makes its --root when it lists one: ask only where there is one
  if (existsSync(paths.runc)) {
    const { stdout } = await run('runc', ['--root', paths.runc, 'list', '-q']).catch(() => ({ stdout: '' }));
    for (const id of stdout.split('\n').filter(Boolean)) out.push(`runc container ${id}`);
  }
  for (const p of await processesMentioning([stateRoot, runtime])) out.push(`process ${p}`);
  for (const dest of opts.dests ?? []) {
    for (const n of await list(dirname(dest)))
      if (n.startsWith(`${basename(dest)}.tmp-`)) out.push(`beside the output: ${n}`);
  }
  for (const pid of opts.pids ?? []) {
    for (const n of await list('/tmp')) if (n.startsWith(`tsbuild-tool-${pid}-`)) out.push(`/tmp/${n}`);
  }
  return out;
}

async function list(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}

/** `.tmp-*`, `.pending-*`, `.removing-*` anywhere in the state dir but inside layer trees and cache mounts. */
async function inFlightFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (IN_FLIGHT.test(e.name)) found.push(p);
      if (!e.isDirectory()) continue;
      const rel = p.slice(root.length + 1);
      if (/^snapshots\/[^/]+\/fs$/.test(rel) || /^cache-mounts\/./.test(rel)) continue;
      if (depth < 12) await walk(p, depth + 1);
    }
  };
  await walk(root, 0);
  return found;
}

/** Live processes whose command line names one of `needles` (a container's runc, a killed build's helpers). */
export async function processesMentioning(needles: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const pid of await list('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (needles.some((n) => cmd.includes(n + '/') || cmd.split('\0').includes(n)))
      out.push(`${pid} ${cmd.replace(/\0/g, ' ').trim().slice(0, 160)}`);
  }
  return out;
}

/** Kills the state dir's containers, detaches its mounts and removes it and its runtime dir. */
export async function destroyState(stateRoot: string): Promise<void> {
  const paths = new StatePaths(stateRoot);
  const runtime = paths.runtime;
  if (existsSync(paths.runc)) {
    const { stdout } = await run('runc', ['--root', paths.runc, 'list', '-q']).catch(() => ({ stdout: '' }));
    for (const id of stdout.split('\n').filter(Boolean)) {
      await run('runc', ['--root', paths.runc, 'kill', id, 'KILL']).catch(() => {});
      await run('runc', ['--root', paths.runc, 'delete', '-f', id]).catch(() => {});
    }
  }
  await detachMountsUnder([stateRoot, runtime]);
  await rm(stateRoot, { recursive: true, force: true });
  await rm(runtime, { recursive: true, force: true });
}
