/**
 * An all-hit build from --cache-from on an empty state dir fetches only the layer blobs something
 * needs: a push to the registry the base and the cache are in mounts or skips them (no base or
 * cache layer blob is downloaded), `-o type=oci` fetches them (the base layer without unpacking
 * it) and writes a complete image, and a step that runs over them makes them present. Blob downloads are counted
 * through a proxy in front of a throwaway registry (test/helpers/flaky-proxy.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_LAYOUT, makeFixture, runCli, type CliResult, type Fixture } from '../helpers/build-fixture.js';
import { startFlakyProxy, type FlakyProxy } from '../helpers/flaky-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const run = promisify(execFile);

const dockerfile = (from: string, extra = '') => `FROM ${from}
RUN echo built > /built.txt
COPY a.txt /a.txt
RUN cat /a.txt /built.txt > /both.txt
${extra}`;

const manifestDigest = (r: CliResult) => /manifest (sha256:[a-f0-9]{64})/.exec(r.stdout)?.[1];
const ran = (r: CliResult) => (r.stderr.match(/^#\d+ running:/gm) ?? []).length;

describe('layers an all-hit build from --cache-from does not need stay remote', () => {
  let reg: TestRegistry;
  let proxy: FlakyProxy;
  let fx: Fixture;
  let work: string;
  let baseLayer: string;
  let first: CliResult;
  let from: string;

  /** A build in a new, empty state dir; returns it and the blob GETs it made, by repository. */
  async function fresh(name: string, args: string[]): Promise<{ r: CliResult; gets: string[]; state: string }> {
    const state = join(work, name);
    const before = proxy.requests.length;
    const r = await runCli(['--progress=plain', ...args, fx.context], { env: { TSBUILD_ROOT: state } });
    const gets = proxy.requests
      .slice(before)
      .filter((q) => q.method === 'GET' && q.url.includes('/blobs/'))
      .map((q) => q.url);
    return { r, gets, state };
  }

  beforeAll(async () => {
    reg = await startRegistry();
    await reg.push(BASE_LAYOUT, 'latest', 'tsb/base:1');
    proxy = await startFlakyProxy(reg.port);
    const index = JSON.parse(await readFile(join(BASE_LAYOUT, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const manifest = JSON.parse(
      await readFile(join(BASE_LAYOUT, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8'),
    ) as { layers: { digest: string }[] };
    baseLayer = manifest.layers[0]!.digest;
    from = `${proxy.host}/tsb/base:1`;
    fx = await makeFixture({ Dockerfile: dockerfile(from), 'a.txt': 'alpha\n' });
    work = await mkdtemp(join(tmpdir(), 'tsbuild-lazy-'));
    first = await runCli(
      [
        '--progress=plain',
        '-o',
        `type=registry,name=${proxy.host}/app/first:1`,
        '--cache-to',
        `type=registry,ref=${proxy.host}/cache/app:c`,
        '--cache-to',
        `type=local,dest=${join(work, 'local-cache')}`,
        fx.context,
      ],
      { env: { TSBUILD_ROOT: join(work, 'first') } },
    );
  });
  afterAll(async () => {
    await fx?.cleanup();
    await proxy?.stop();
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a push to the same registry downloads no layer blob (registry cache): mounts, same digest', async () => {
    expect(first.exitCode, first.stderr).toBe(0);
    const { r, gets, state } = await fresh('push-registry', [
      '-o',
      `type=registry,name=${proxy.host}/app/second:1`,
      '--cache-from',
      `type=registry,ref=${proxy.host}/cache/app:c`,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(ran(r)).toBe(0);
    expect(manifestDigest(r)).toBe(manifestDigest(first));
    // only the base image's config and the cache's config are read
    expect(gets.filter((u) => u.includes(baseLayer))).toEqual([]);
    expect(gets.filter((u) => u.includes('/cache/app/'))).toHaveLength(1);
    expect(gets.filter((u) => u.includes('/tsb/base/'))).toHaveLength(1);
    expect(r.stderr).toMatch(/0 blobs uploaded|[1-9] mounted/);
    // nothing was unpacked
    expect(await readdir(join(state, 'snapshots')).catch(() => [])).toEqual([]);
    // the pushed image is whole: skopeo copies every blob of it
    await run('skopeo', [
      'copy',
      '--src-tls-verify=false',
      `docker://${reg.host}/app/second:1`,
      `oci:${join(work, 'second-copy')}:x`,
    ]);
  });

  it('a push to the same registry downloads no base layer blob (local cache)', async () => {
    const { r, gets } = await fresh('push-local', [
      '-o',
      `type=registry,name=${proxy.host}/app/third:1`,
      '--cache-from',
      `type=local,src=${join(work, 'local-cache')}`,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(ran(r)).toBe(0);
    expect(manifestDigest(r)).toBe(manifestDigest(first));
    expect(gets.filter((u) => u.includes(baseLayer))).toEqual([]);
  });

  it('-o type=oci fetches the layers, the base one without unpacking it, and writes a complete image', async () => {
    const archive = join(work, 'image.tar');
    const { r, gets, state } = await fresh('oci', [
      '-o',
      `type=oci,dest=${archive}`,
      '--cache-from',
      `type=registry,ref=${proxy.host}/cache/app:c`,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(ran(r)).toBe(0);
    expect(manifestDigest(r)).toBe(manifestDigest(first));
    expect(gets.filter((u) => u.includes(baseLayer))).toHaveLength(1);
    // the steps' layers are unpacked (their records stand for them in later builds), the base layer is not
    expect((await readdir(join(state, 'snapshots'))).filter((n) => !n.startsWith('.'))).toHaveLength(3);
    const layout = join(work, 'oci-layout');
    await run('skopeo', ['copy', `oci-archive:${archive}`, `oci:${layout}:x`]);
    const bundle = join(work, 'bundle');
    await run('umoci', ['raw', 'unpack', '--rootless', '--image', `${layout}:x`, bundle]);
    expect(await readFile(join(bundle, 'both.txt'), 'utf8')).toBe('alpha\nbuilt\n');
  });

  it('-t keeps the named image whole: the base layer is downloaded, not unpacked, and the image runs', async () => {
    const { r, gets, state } = await fresh('tagged', [
      '-t',
      'app:1',
      '--cache-from',
      `type=registry,ref=${proxy.host}/cache/app:c`,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(ran(r)).toBe(0);
    expect(gets.filter((u) => u.includes(baseLayer))).toHaveLength(1);
    expect((await readdir(join(state, 'snapshots'))).filter((n) => !n.startsWith('.'))).toHaveLength(3);
    const started = await runCli(['run', '--rm', 'app:1', 'cat', '/both.txt'], { env: { TSBUILD_ROOT: state } });
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stdout).toBe('alpha\nbuilt\n');
  });

  it('a step that runs over remote layers makes them present first', async () => {
    await writeFile(join(fx.context, 'Dockerfile'), dockerfile(from, 'RUN cat /both.txt /a.txt > /three.txt\n'));
    try {
      const archive = join(work, 'more.tar');
      const { r, gets } = await fresh('runs', [
        '-o',
        `type=oci,dest=${archive}`,
        '--cache-from',
        `type=registry,ref=${proxy.host}/cache/app:c`,
      ]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr.match(/CACHED \(from /g)).toHaveLength(3);
      expect(gets.filter((u) => u.includes(baseLayer))).toHaveLength(1);
      const layout = join(work, 'more-layout');
      await run('skopeo', ['copy', `oci-archive:${archive}`, `oci:${layout}:x`]);
      const bundle = join(work, 'more-bundle');
      await run('umoci', ['raw', 'unpack', '--rootless', '--image', `${layout}:x`, bundle]);
      expect(await readFile(join(bundle, 'three.txt'), 'utf8')).toBe('alpha\nbuilt\nalpha\n');
    } finally {
      await writeFile(join(fx.context, 'Dockerfile'), dockerfile(from));
    }
  });
});
