/**
 * A small full filesystem as the output and as the state dir (issue 10, point 3). Each failed
 * write must fail the build with exit 1 and an environment error naming what failed, leave
 * nothing at dest (nor a `dest.tmp-*`), and leave a state dir whose next build gives the image a
 * build on a roomy disk gives. Filesystems are small tmpfs mounts, unmounted in afterAll.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FROM_BASE, runCli, type CliResult } from '../helpers/build-fixture.js';

const MB = 1 << 20;
/** Bigger than the small filesystems: COPY, its layer blob or the archive cannot fit. */
const BIG = 12 * MB;
const EPOCH = ['--build-arg', 'SOURCE_DATE_EPOCH=1700000000'];

let dir: string;
let context: string;
const mounts: string[] = [];

async function tmpfs(name: string, size: string): Promise<string> {
  const at = join(dir, name);
  await mkdir(at, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', at]);
  mounts.push(at);
  return at;
}

function build(stateRoot: string, dest: string, type = 'oci', extra: string[] = []): Promise<CliResult> {
  return runCli(['--progress=plain', ...EPOCH, '-o', `type=${type},dest=${dest}`, ...extra, context], {
    env: { TSBUILD_ROOT: stateRoot },
  });
}

/** The names in the state dir's content store (index.json ref.name annotations). */
async function tagsIn(stateRoot: string): Promise<string[]> {
  const index = JSON.parse(await readFile(join(stateRoot, 'content', 'index.json'), 'utf8')) as {
    manifests: { annotations?: Record<string, string> }[];
  };
  return index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'] ?? '');
}

const digestOf = (r: CliResult): string | undefined => /^image (sha256:[a-f0-9]{64})$/m.exec(r.stderr)?.[1];

let roomyDigest: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-full-disk-'));
  context = join(dir, 'context');
  await mkdir(context);
  // incompressible and the same every run: a hash chain, not /dev/urandom
  const big = Buffer.alloc(BIG);
  let block = createHash('sha256').update('full-disk').digest();
  for (let off = 0; off < BIG; off += 32) {
    block = createHash('sha256').update(block).digest();
    block.copy(big, off);
  }
  await writeFile(join(context, 'big'), big);
  await writeFile(join(context, 'Dockerfile'), `FROM ${FROM_BASE}\nCOPY big /big\n`);
  const roomy = await build(join(dir, 'roomy-state'), join(dir, 'roomy.tar'));
  expect(roomy.exitCode, roomy.stderr).toBe(0);
  roomyDigest = digestOf(roomy)!;
  expect(roomyDigest).toBeDefined();
});

afterAll(async () => {
  for (const m of mounts.reverse()) {
    try {
      execFileSync('umount', [m]);
    } catch {
      execFileSync('umount', ['-l', m]);
    }
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

function expectDiskFullError(r: CliResult, what: RegExp): void {
  expect(r.exitCode, r.stderr).toBe(1);
  expect(r.stderr).toMatch(what);
  expect(r.stderr).toMatch(/no space left on device/);
  expect(r.stderr).toMatch(/^hint: free some space/m);
  expect(r.stderr).not.toMatch(/internal error| {4}at /);
}

describe('a full output filesystem', () => {
  const cases: { type: string; what: RegExp }[] = [
    { type: 'oci', what: /cannot write the OCI archive .*out-oci\/image: no space left/ },
    { type: 'docker', what: /cannot write the docker archive .*out-docker\/image: no space left/ },
    { type: 'tar', what: /cannot write the tar .*out-tar\/image: no space left/ },
    { type: 'local', what: /cannot write the root filesystem to .*out-local\/image: no space left/ },
  ];
  for (const { type, what } of cases) {
    test(`type=${type}: exit 1, the output named, nothing at dest, and the state dir builds on`, async () => {
      const out = await tmpfs(`out-${type}`, '8m');
      const state = join(dir, `state-${type}`);
      const r = await build(state, join(out, 'image'), type, ['-t', `full-${type}:1`]);
      expectDiskFullError(r, what);
      // nothing at dest, no temp file beside it
      expect(await readdir(out)).toEqual([]);
      // the -t name is not set for an image that was not exported
      const again = await build(state, join(dir, `after-${type}.tar`));
      expect(again.exitCode, again.stderr).toBe(0);
      expect(digestOf(again)).toBe(roomyDigest);
      expect(await tagsIn(state)).not.toContain(`full-${type}:1`);
    });
  }
});

test('--cache-to on a full disk: exit 1, and the image output is not left behind', async () => {
  const cacheOut = await tmpfs('cache-to', '8m');
  const dest = join(dir, 'cache-to.tar');
  const r = await build(join(dir, 'state-cache-to'), dest, 'oci', [
    '--cache-to',
    `type=local,dest=${join(cacheOut, 'cache')}`,
  ]);
  expectDiskFullError(r, /cache.*no space left on device/);
  expect(await readdir(dir)).not.toContain('cache-to.tar');
});

describe('a full state dir', () => {
  test('filled to the last page: never exit 70, exit 1 leaves nothing at dest, and where only the cap has no room it warns', async () => {
    // The smallest state filesystem the build fits on (a binary search in pages): there the
    // build's own writes fit but the automatic cap (20% of a small filesystem, so it runs) has no
    // room for its lock, which failed the finished build with its archive written (exit 1 or 70).
    const state = await tmpfs('state-edge', '64m');
    const dest = join(dir, 'edge.tar');
    const outcomes = new Map<number, CliResult>();
    const tryKb = async (kb: number): Promise<CliResult> => {
      await rm(join(state, 'root'), { recursive: true, force: true });
      execFileSync('mount', ['-o', `remount,size=${kb}k`, state]);
      const r = await build(join(state, 'root'), dest);
      expect([0, 1], r.stderr).toContain(r.exitCode);
      expect(r.stderr).not.toMatch(/internal error| {4}at /);
      expect(existsSync(dest), r.stderr).toBe(r.exitCode === 0);
      await rm(dest, { force: true });
      outcomes.set(kb, r);
      return r;
    };
    let lo = 16 * 1024; // fails
    let hi = 64 * 1024; // builds
    while (hi - lo > 4) {
      const mid = lo + Math.floor((hi - lo) / 8) * 4;
      if ((await tryKb(mid)).exitCode === 0) hi = mid;
      else lo = mid;
    }
    const edge = outcomes.get(hi) ?? (await tryKb(hi));
    expect(edge.exitCode, edge.stderr).toBe(0);
    expect(edge.stderr).toMatch(/WARNING: the cache cap was not applied: no space left on device/);
  }, 240_000);
  const roomLater: { name: string; size: string; what: RegExp }[] = [
    {
      name: 'COPY meets the full disk: exit 1 naming the step',
      size: '8m',
      what: /COPY big \/big: no space left on device/,
    },
    {
      name: 'the layer blob meets the full disk: exit 1 naming the export',
      size: '20m',
      what: /cannot make the image's layer blobs in .*: no space left on device/,
    },
  ];
  for (const [i, { name, size, what }] of roomLater.entries()) {
    test(`${name}, nothing at dest, no tag, and the state dir builds once there is room`, async () => {
      const state = await tmpfs(`state-room-${i}`, size);
      const dest = join(dir, `room-${i}.tar`);
      const r = await build(join(state, 'root'), dest, 'oci', ['-t', `full-room-${i}:1`]);
      expectDiskFullError(r, what);
      expect((await readdir(dir)).filter((n) => n.startsWith(`room-${i}.tar`))).toEqual([]);
      expect(await tagsIn(join(state, 'root')).catch(() => [])).not.toContain(`full-room-${i}:1`);
      execFileSync('mount', ['-o', 'remount,size=200m', state]);
      const again = await build(join(state, 'root'), dest);
      expect(again.exitCode, again.stderr).toBe(0);
      expect(digestOf(again)).toBe(roomyDigest);
    });
  }

  test("the archive on the state dir's own full disk: exit 1, nothing at dest, no tag", async () => {
    const state = await tmpfs('state-archive', '34m');
    const dest = join(state, 'image.tar');
    const r = await build(join(state, 'root'), dest, 'oci', ['-t', 'full-archive:1']);
    expectDiskFullError(r, /cannot write the OCI archive .*image\.tar: no space left on device/);
    expect((await readdir(state)).sort()).toEqual(['root']);
    expect(await tagsIn(join(state, 'root'))).not.toContain('full-archive:1');
    execFileSync('mount', ['-o', 'remount,size=200m', state]);
    const again = await build(join(state, 'root'), dest);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(digestOf(again)).toBe(roomyDigest);
  });
});
