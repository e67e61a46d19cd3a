/**
 * --cache-to / --cache-from against Debian's docker-registry on 127.0.0.1 and an OCI layout
 * directory: a fresh state dir with the cache re-runs nothing and gives the same image; the
 * cache is a plain OCI manifest skopeo reads and copies; mode=min carries only the final
 * image's steps; a cache that is missing or damaged is a warning and the build still succeeds.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import {
  ALLOW_FIXTURE_BASES,
  FROM_BASE,
  makeFixture,
  runCli,
  TSBUILD,
  unpackArchive,
  type CliResult,
  type Fixture,
} from '../helpers/build-fixture.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const run = promisify(execFile);

const DOCKERFILE = `FROM ${FROM_BASE} AS builder
RUN echo built > /out.txt
COPY src/ /src/
RUN cat /src/*.txt > /joined.txt

FROM ${FROM_BASE}
COPY --from=builder /out.txt /joined.txt /app/
RUN wc -c /app/joined.txt > /app/size.txt
COPY --link notes.txt /app/notes.txt
`;
const FILES = { Dockerfile: DOCKERFILE, 'src/a.txt': 'alpha\n', 'src/b.txt': 'beta\n', 'notes.txt': 'notes\n' };
const STEPS = 6;

/** Builds `fx`'s context with a given state dir, into an OCI archive, with extra flags. */
function build(fx: Fixture, state: string, archive: string, args: string[]): Promise<CliResult> {
  return runCli(['--progress=plain', '-t', 'app:1', '-o', `type=oci,dest=${archive}`, ...args, fx.context], {
    env: { TSBUILD_ROOT: state },
  });
}

/** The build steps that ran (unpacking the base image, `[stage 1/N] FROM REF@…`, is not one). */
const ran = (r: CliResult) =>
  [...r.stderr.matchAll(/^#\d+ (\[.*)$\n^#\d+ running:/gm)]
    .map((m) => m[1]!)
    .filter((name) => !name.startsWith('[internal]') && !/^\[[^\]]*\] FROM /.test(name));
const cached = (r: CliResult) => (r.stderr.match(/^#\d+ CACHED/gm) ?? []).length;
const imageDigest = (r: CliResult) => /image (sha256:[a-f0-9]{64})/.exec(r.stdout)?.[1];

describe('build cache export and import', () => {
  let reg: TestRegistry;
  let fx: Fixture;
  let first: CliResult;
  let work: string;
  beforeAll(async () => {
    reg = await startRegistry();
    fx = await makeFixture(FILES);
    work = await mkdtemp(join(tmpdir(), 'tsbuild-cache-'));
    first = await build(fx, fx.stateRoot, join(work, 'first.tar'), [
      '--cache-to',
      `type=registry,ref=${reg.host}/cache/app:buildcache`,
      '--cache-to',
      `type=local,dest=${join(work, 'local-cache')}`,
      '--cache-to',
      `type=registry,ref=${reg.host}/cache/app:min,mode=min`,
    ]);
  });
  afterAll(async () => {
    await fx?.cleanup();
    await reg?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it("exports every stage's steps as a plain OCI manifest that skopeo reads and copies", async () => {
    expect(first.exitCode, first.stderr).toBe(0);
    expect(ran(first)).toHaveLength(STEPS);
    expect(first.stderr).toMatch(
      new RegExp(`exporting cache to ${reg.host}/cache/app:buildcache \\(${STEPS} steps, ${STEPS} layers, `),
    );
    const { stdout } = await run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${reg.host}/cache/app:buildcache`,
    ]);
    const manifest = JSON.parse(stdout) as {
      mediaType: string;
      config: { mediaType: string };
      layers: { mediaType: string }[];
    };
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.config.mediaType).toBe('application/vnd.tsbuild.cache.config.v1+json');
    expect(manifest.layers).toHaveLength(STEPS);
    expect(manifest.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+gzip')).toBe(true);
    await run('skopeo', [
      'copy',
      '--src-tls-verify=false',
      `docker://${reg.host}/cache/app:buildcache`,
      `oci:${join(work, 'copied')}:c`,
    ]);
    const local = await run('skopeo', ['inspect', '--raw', `oci:${join(work, 'local-cache')}:latest`]);
    expect(JSON.parse(local.stdout)).toEqual(manifest);
  });

  it('a fresh state dir with --cache-from (registry) re-runs nothing and makes the same image', async () => {
    const state = join(work, 'state-registry');
    const r = await build(fx, state, join(work, 'from-registry.tar'), [
      '--cache-from',
      `type=registry,ref=${reg.host}/cache/app:buildcache`,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(ran(r)).toEqual([]);
    expect(r.stderr.match(new RegExp(`CACHED \\(from ${reg.host}/cache/app:buildcache\\)`, 'g'))).toHaveLength(STEPS);
    expect(imageDigest(r)).toBe(imageDigest(first));
    const img = await unpackArchive(join(work, 'from-registry.tar'), join(work, 'unpacked-registry'));
    expect(await img.read('/app/joined.txt')).toBe('alpha\nbeta\n');
    expect(await img.read('/app/size.txt')).toBe('11 /app/joined.txt\n');
    expect(await img.read('/app/notes.txt')).toBe('notes\n');

    // the records were kept with the layers the output fetched: the next build there needs no
    // --cache-from for the final stage; the builder stage's layers, which nothing needed, stayed
    // in the cache, so without it those steps run again (docs/cache.md)
    const again = await build(fx, state, join(work, 'again.tar'), []);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(ran(again)).toHaveLength(3);
    expect(ran(again).every((name) => name.startsWith('[builder '))).toBe(true);
    expect(imageDigest(again)).toBe(imageDigest(first));
  });

  it('a fresh state dir with --cache-from (local) re-runs nothing; an edit re-runs only what depends on it', async () => {
    const cacheFrom = ['--cache-from', `type=local,src=${join(work, 'local-cache')}`];
    const r = await build(fx, join(work, 'state-local'), join(work, 'from-local.tar'), cacheFrom);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(ran(r)).toEqual([]);
    expect(imageDigest(r)).toBe(imageDigest(first));

    await writeFile(join(fx.context, 'src/b.txt'), 'beta, edited\n');
    try {
      const edited = await build(fx, join(work, 'state-edited'), join(work, 'edited.tar'), cacheFrom);
      expect(edited.exitCode, edited.stderr).toBe(0);
      expect(ran(edited)).toEqual([
        '[builder 3/4] COPY src/ /src/',
        '[builder 4/4] RUN cat /src/*.txt > /joined.txt',
        '[stage-1 2/4] COPY --from=builder /out.txt /joined.txt /app/',
        '[stage-1 3/4] RUN wc -c /app/joined.txt > /app/size.txt',
        // its parent changed, so it runs; its layer is named by content, so it comes out the same
        '[stage-1 4/4] COPY --link notes.txt /app/notes.txt',
      ]);
      expect(cached(edited)).toBe(1);
    } finally {
      await writeFile(join(fx.context, 'src/b.txt'), 'beta\n');
    }
  });

  it("mode=min carries the final image's steps only: the other stage runs again", async () => {
    const r = await build(fx, join(work, 'state-min'), join(work, 'from-min.tar'), [
      '--cache-from',
      `${reg.host}/cache/app:min`,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/importing cache from .*: 3 steps/);
    expect(ran(r)).toEqual([
      '[builder 2/4] RUN echo built > /out.txt',
      '[builder 3/4] COPY src/ /src/',
      '[builder 4/4] RUN cat /src/*.txt > /joined.txt',
    ]);
    expect(cached(r)).toBe(3);
    expect(imageDigest(r)).toBe(imageDigest(first));
  });

  it('a missing cache is a warning, and the build runs without it', async () => {
    const r = await build(fx, join(work, 'state-missing'), join(work, 'missing.tar'), [
      '--cache-from',
      `${reg.host}/cache/nothing:here`,
      '--cache-from',
      `type=local,src=${join(work, 'no-such-dir')}`,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(`cannot import the cache from ${reg.host}/cache/nothing:here, building without it: .*not found`),
    );
    expect(r.stderr).toMatch(/cannot import the cache from .*no-such-dir, building without it/);
    expect(ran(r)).toHaveLength(STEPS);
  });

  it('a damaged layer blob is a warning: that step runs, and the state dir stays usable', async () => {
    const copy = join(work, 'damaged-cache');
    await run('cp', ['-a', join(work, 'local-cache'), copy]);
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${copy}:latest`]);
    const manifest = JSON.parse(stdout) as { layers: { digest: string; size: number }[] };
    const biggest = [...manifest.layers].sort((a, b) => b.size - a.size)[0]!;
    await truncate(join(copy, 'blobs/sha256', biggest.digest.slice(7)), 10);
    const state = join(work, 'state-damaged');
    const r = await build(fx, state, join(work, 'damaged.tar'), ['--cache-from', `type=local,src=${copy}`]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/cannot use the cache from .*damaged-cache/);
    expect(ran(r).length).toBeGreaterThanOrEqual(1);
    expect(imageDigest(r)).toBe(imageDigest(first));
    // nothing half-made: no pending snapshots or ingest leftovers
    expect((await readdir(join(state, 'snapshots'))).filter((n) => n.startsWith('.'))).toEqual([]);
    const again = await build(fx, state, join(work, 'damaged-again.tar'), []);
    expect(ran(again)).toEqual([]);
  });

  it('an import killed with SIGKILL at any point leaves a state dir the next import completes', async () => {
    const state = join(work, 'state-killed');
    const args = [
      '--progress=plain',
      '-t',
      'app:1',
      '--cache-from',
      `type=local,src=${join(work, 'local-cache')}`,
      fx.context,
    ];
    for (const ms of [150, 300, 450, 600, 800]) {
      await new Promise<void>((resolve) => {
        const child = spawn(TSBUILD, [...ALLOW_FIXTURE_BASES, ...args], {
          env: { ...process.env, TSBUILD_ROOT: state },
          stdio: 'ignore',
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), ms);
        child.on('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const r = await build(fx, state, join(work, 'after-kills.tar'), [
      '--cache-from',
      `type=local,src=${join(work, 'local-cache')}`,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(ran(r)).toEqual([]);
    expect(imageDigest(r)).toBe(imageDigest(first));
  });

  it('an export that fails stops the build, unless ignore-error=true', async () => {
    const dead = '127.0.0.1:9/cache/app:x';
    const failed = await build(fx, fx.stateRoot, join(work, 'x.tar'), ['--cache-to', `type=registry,ref=${dead}`]);
    expect(failed.exitCode).not.toBe(0);
    expect(failed.stderr).toMatch(/cannot export the cache to 127\.0\.0\.1:9\/cache\/app:x/);
    const ignored = await build(fx, fx.stateRoot, join(work, 'y.tar'), [
      '--cache-to',
      `type=registry,ref=${dead},ignore-error=true`,
    ]);
    expect(ignored.exitCode, ignored.stderr).toBe(0);
    expect(ignored.stderr).toMatch(/cannot export the cache to .*ignore-error=true/);
  });

  it('the cache config names each step and layer it carries', async () => {
    const layout = join(work, 'local-cache');
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(
      await readFile(join(layout, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8'),
    ) as { config: { digest: string } };
    const config = JSON.parse(
      await readFile(join(layout, 'blobs/sha256', manifest.config.digest.slice(7)), 'utf8'),
    ) as {
      records: { description: string }[];
      layers: Record<string, unknown>;
    };
    expect(config.records.map((r) => r.description).sort()).toEqual([
      '[builder 2/4] RUN echo built > /out.txt',
      '[builder 3/4] COPY src/ /src/',
      '[builder 4/4] RUN cat /src/*.txt > /joined.txt',
      '[stage-1 2/4] COPY --from=builder /out.txt /joined.txt /app/',
      '[stage-1 3/4] RUN wc -c /app/joined.txt > /app/size.txt',
      '[stage-1 4/4] COPY --link notes.txt /app/notes.txt',
    ]);
    // base image layers are not carried: the FROM has them
    expect(Object.keys(config.layers).every((id) => !id.startsWith('l'))).toBe(true);
  });
});
