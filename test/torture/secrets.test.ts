/**
 * A secret must never be written anywhere tsbuild writes: after a build that succeeds, one whose
 * RUN fails, and one SIGKILLed while a RUN holds the secret mounted, the secret's value (a unique
 * random string, from a file and from an environment variable) is searched for, binary-safe, in
 * the state dir, its runtime dir under /run/tsbuild, every /tmp and /dev/shm entry made during
 * the test, the image's decompressed layers and config, and the build's stdout, stderr and
 * progress output. Only right after the SIGKILL may a copy sit on a memory-backed filesystem
 * (the killed build could not remove it); the next build must remove it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatePaths } from '../../src/store/state-paths.js';
import { FROM_BASE } from '../helpers/build-fixture.js';
import { startCli, type ChildOutcome } from './lib/child.js';
import { grepTree, onMemoryFs } from './lib/grep-tree.js';
import { destroyState } from './lib/leftovers.js';
import { archiveBlobsContaining } from './lib/oci.js';

const FILE_SECRET = `tsb-file-secret-${randomBytes(16).toString('hex')}`;
const ENV_SECRET = `tsb-env-secret-${randomBytes(16).toString('hex')}`;
const ENV_VAR = 'TSBUILD_TORTURE_SECRET';

/** Each step uses a secret differently: read and dropped, on a command line, as a custom target. */
const USES = [
  'RUN --mount=type=secret,id=s cat /run/secrets/s > /dev/null && echo read-it',
  `RUN --mount=type=secret,id=s v=$(cat /run/secrets/s) && expr "$v" : 'tsb-file-secret-' > /dev/null && sh -c 'test -n "$1"' sh "$v" && echo used > /used`,
  'RUN --mount=type=secret,id=s,target=/etc/app/token,mode=0440,uid=1000 grep -q tsb-file-secret /etc/app/token && wc -c < /etc/app/token',
  'RUN --mount=type=secret,id=e --mount=type=secret,id=s cat /run/secrets/e /run/secrets/s | md5sum > /sums',
];

describe('secrets are never written down', () => {
  let dir: string;
  let secretDir: string;
  let state: string;
  let tmpBefore: Set<string>;
  const outputs: string[] = [];

  const build = (context: string, extra: string[], stateRoot = state): ReturnType<typeof startCli> =>
    startCli(
      ['--secret', `id=s,src=${join(secretDir, 'secret.txt')}`, '--secret', `id=e,env=${ENV_VAR}`, ...extra, context],
      {
        env: { TSBUILD_ROOT: stateRoot, [ENV_VAR]: ENV_SECRET },
      },
    );

  async function context(name: string, lines: string[]): Promise<string> {
    const c = join(dir, name);
    await mkdir(c, { recursive: true });
    await writeFile(join(c, 'Dockerfile'), [`FROM ${FROM_BASE}`, ...lines, ''].join('\n'));
    return c;
  }

  /** Every place the value was found: files under the state, runtime and new /tmp entries, and outputs. */
  async function whereFound(extraOutput: ChildOutcome): Promise<string[]> {
    outputs.push(extraOutput.stdout, extraOutput.stderr);
    const fresh = (await readdir('/tmp')).filter((n) => !tmpBefore.has(`/tmp/${n}`)).map((n) => join('/tmp', n));
    const shm = (await readdir('/dev/shm').catch(() => [] as string[]))
      .filter((n) => !tmpBefore.has(`/dev/shm/${n}`))
      .map((n) => join('/dev/shm', n));
    const roots = [state, new StatePaths(state).runtime, ...fresh, ...shm];
    const hits: string[] = [];
    for (const secret of [FILE_SECRET, ENV_SECRET]) {
      hits.push(...(await grepTree(roots, Buffer.from(secret), { skip: [secretDir], maxFileBytes: 64 << 20 })));
      if (extraOutput.stdout.includes(secret) || extraOutput.stderr.includes(secret)) hits.push('the build output');
    }
    return [...new Set(hits)];
  }

  beforeAll(async () => {
    tmpBefore = new Set([
      ...(await readdir('/tmp')).map((n) => `/tmp/${n}`),
      ...(await readdir('/dev/shm').catch(() => [] as string[])).map((n) => `/dev/shm/${n}`),
    ]);
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-torture-secrets-'));
    secretDir = await mkdtemp(join(tmpdir(), 'tsbuild-torture-secret-src-'));
    await writeFile(join(secretDir, 'secret.txt'), FILE_SECRET);
    state = join(dir, 'state');
  });

  afterAll(async () => {
    if (state) await destroyState(state);
    await rm(dir, { recursive: true, force: true });
    await rm(secretDir, { recursive: true, force: true });
  });

  it('after a build that succeeds: not in the state dir, /tmp, the image or the output', async () => {
    const c = await context('ok', USES);
    const archive = join(dir, 'image.tar');
    const r = await build(c, [
      '--progress=plain',
      '-t',
      'secrets:ok',
      '-o',
      `type=oci,dest=${archive}`,
      '--metadata-file',
      join(dir, 'meta.json'),
    ]).result;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^#\d+ [\d.]+ read-it$/m); // the step's output, not its name
    expect(await whereFound(r)).toEqual([]);
    for (const secret of [FILE_SECRET, ENV_SECRET])
      expect(await archiveBlobsContaining(archive, Buffer.from(secret))).toEqual([]);
  }, 120_000);

  it('the search finds a secret that a step writes into the image', async () => {
    const leakState = join(dir, 'leak-state');
    const leaked = join(dir, 'leaked.tar');
    try {
      const leak = await context('leak', ['RUN --mount=type=secret,id=s cp /run/secrets/s /leaked']);
      const l = await build(leak, ['--progress=plain', '-o', `type=oci,dest=${leaked}`], leakState).result;
      expect(l.exitCode, l.stderr).toBe(0);
      expect(await archiveBlobsContaining(leaked, Buffer.from(FILE_SECRET))).toHaveLength(1);
      expect((await grepTree([leakState], Buffer.from(FILE_SECRET))).length).toBeGreaterThan(0);
    } finally {
      await destroyState(leakState);
      await rm(leaked, { force: true });
    }
  }, 120_000);

  it('after a build whose RUN fails with the secret mounted', async () => {
    const c = await context('fails', [
      ...USES.slice(0, 2),
      'RUN --mount=type=secret,id=s test "$(cat /run/secrets/s)" = "not the secret"',
    ]);
    const r = await build(c, ['--progress=json', '-o', `type=oci,dest=${join(dir, 'never.tar')}`]).result;
    expect(r.exitCode, r.stderr).toBe(1);
    expect(await whereFound(r)).toEqual([]);
  }, 120_000);

  it('after a SIGKILL while a RUN holds the secret mounted, and after the next build', async () => {
    const c = await context('killed', [
      'RUN --mount=type=secret,id=s --mount=type=secret,id=e cat /run/secrets/s /run/secrets/e > /dev/null && echo holding-the-secret && sleep 60',
    ]);
    const child = build(c, ['--progress=plain']);
    expect(
      await child.waitFor(/^#\d+ [\d.]+ holding-the-secret$/),
      child.lines.map((l) => l.text).join('\n'),
    ).toBeDefined();
    child.signal('SIGKILL');
    const killed = await child.result;
    expect(killed.signal).toBe('SIGKILL');
    // A killed build cannot clean up: what it leaves may stay in memory (a tmpfs, as BuildKit's
    // secret mounts) until the next build sweeps it, but never on a disk.
    const afterKill: string[] = [];
    for (const hit of await whereFound(killed))
      if (!(await onMemoryFs(hit.replace(/ \(.*\)$/, '')))) afterKill.push(hit);
    // the next build sweeps what the killed one left; it must not find (or leave) a secret either
    const next = await build(await context('next', USES.slice(0, 1)), ['--progress=plain']).result;
    expect(next.exitCode, next.stderr).toBe(0);
    const afterNext = await whereFound(next);
    expect({ afterKill, afterNext }).toEqual({ afterKill: [], afterNext: [] });
  }, 120_000);

  it('no build printed a secret', () => {
    expect(outputs.length).toBeGreaterThan(0);
    for (const o of outputs) for (const secret of [FILE_SECRET, ENV_SECRET]) expect(o).not.toContain(secret);
  });
});
