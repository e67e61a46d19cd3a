/**
 * Ctrl-C during export (issue 10, point 4): the build exits 130 with nothing at any dest and no
 * name set in the state dir, and the next build works. The signal is sent when the progress
 * output shows the export phase, not after a fixed delay, so a loaded machine only makes the
 * window longer. The layer is a 150 MB incompressible file re-encoded at gzip level 9 (~8 s
 * here), so the export lasts long enough to be interrupted in.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ALLOW_FIXTURE_BASES, FROM_BASE, REPO_ROOT, runCli, TSBUILD } from '../helpers/build-fixture.js';

const BIG = 150 << 20;

let dir: string;
let context: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-interrupt-export-'));
  context = join(dir, 'context');
  await mkdir(context);
  // incompressible, so every compression pass costs its full time
  const big = randomBytes(BIG);
  await writeFile(join(context, 'big'), big);
  await writeFile(join(context, 'Dockerfile'), `FROM ${FROM_BASE}\nCOPY big /big\n`);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs a build and sends one SIGINT as its stderr shows each of `markers` in turn; resolves with the exit code. */
function buildAndInterrupt(
  args: string[],
  stateRoot: string,
  ...markers: RegExp[]
): Promise<{ exitCode: number | null; stderr: string; sent: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSBUILD, [...ALLOW_FIXTURE_BASES, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, TSBUILD_ROOT: stateRoot },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let next = 0;
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      // bin/tsbuild execs node, so this pid is the build itself
      while (next < markers.length && markers[next]!.test(stderr)) {
        next++;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code, stderr, sent: next === markers.length }));
  });
}

async function tagsIn(stateRoot: string): Promise<string[]> {
  const index = JSON.parse(await readFile(join(stateRoot, 'content', 'index.json'), 'utf8')) as {
    manifests: { annotations?: Record<string, string> }[];
  };
  return index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'] ?? '');
}

async function outputsIn(where: string): Promise<string[]> {
  return (await readdir(where)).filter((n) => n.startsWith('out'));
}

describe('Ctrl-C during export', () => {
  test('while the layer blob is made: exit 130, no archive, no name; the next build works', async () => {
    const state = join(dir, 'state-layers');
    const dest = join(dir, 'out-layers.tar');
    const args = [
      '--progress=plain',
      '-t',
      'interrupted:1',
      '-o',
      `type=oci,dest=${dest},compression-level=9`,
      context,
    ];
    const r = await buildAndInterrupt(args, state, /^#- exporting layers$/m);
    expect(r.sent, r.stderr).toBe(true);
    expect(r.exitCode, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/the build was interrupted/);
    expect(await outputsIn(dir)).toEqual([]);
    expect(await tagsIn(state)).not.toContain('interrupted:1');
    expect(await readdir(join(state, 'content', 'ingest'))).toEqual([]);

    const again = await runCli(args, { env: { TSBUILD_ROOT: state } });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await outputsIn(dir)).toEqual(['out-layers.tar']);
    expect(await tagsIn(state)).toContain('interrupted:1');
    await rm(dest);
  }, 240_000);

  test('while the second of two archives is written: exit 130, neither archive, no name', async () => {
    const state = join(dir, 'state-archives');
    const first = join(dir, 'out-first.tar');
    const second = join(dir, 'out-second.tar');
    const args = [
      '--progress=plain',
      '-t',
      'interrupted:2',
      '-o',
      `type=oci,dest=${first}`,
      '-o',
      `type=docker,dest=${second}`,
      context,
    ];
    const r = await buildAndInterrupt(args, state, /^#- exporting to docker archive .*out-second\.tar$/m);
    expect(r.sent, r.stderr).toBe(true);
    expect(r.exitCode, r.stderr).toBe(130);
    // the OCI archive was complete when the signal came, but is not put in place either
    expect(r.stderr).toMatch(/exporting to oci archive .*: done/);
    expect(await outputsIn(dir)).toEqual([]);
    expect(await tagsIn(state)).not.toContain('interrupted:2');

    const again = await runCli(args, { env: { TSBUILD_ROOT: state } });
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await outputsIn(dir)).sort()).toEqual(['out-first.tar', 'out-second.tar']);
    expect(await tagsIn(state)).toContain('interrupted:2');
    await rm(first);
    await rm(second);
  }, 240_000);

  test('a second Ctrl-C quits at once, still with exit 130 and nothing at dest', async () => {
    const state = join(dir, 'state-twice');
    const dest = join(dir, 'out-twice.tar');
    const args = ['--progress=plain', '-o', `type=oci,dest=${dest},compression-level=9`, context];
    // the second once the first was taken (signals sent together may arrive as one)
    const r = await buildAndInterrupt(args, state, /^#- exporting layers$/m, /cancelling the build/);
    expect(r.sent, r.stderr).toBe(true);
    expect(r.exitCode, r.stderr).toBe(130);
    expect(await outputsIn(dir)).toEqual([]);
  }, 240_000);
});
