/**
 * BuildKit's frontend/dockerfile/dockerfile_cache_test.go against our CLI. BuildKit's
 * ensurePruneAll is `tsbuild prune --all` on the build's state directory; its registry is the
 * local one at 127.0.0.1:5000 (names made unique per run); alpine is our busybox.
 */
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/build-fixture.js';
import { df, rigsForFile, type Rig } from './behaviours-rig.js';
import { type Index, type Manifest, readOciArchive } from './oci-rig.js';

const open = rigsForFile();
const REGISTRY = '127.0.0.1:5000';
const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

async function ok(r: Rig, args: string[]) {
  const res = await r.cli(args);
  expect(res.exitCode, res.stderr).toBe(0);
  return res;
}
async function pruneAll(r: Rig) {
  const res = await runCli(['prune', '--all', '-f'], { env: { TSBUILD_ROOT: r.fx.stateRoot } });
  expect(res.exitCode, res.stderr).toBe(0);
}
/** The digest of the image a build made (BuildKit's tests read the image's target descriptor). */
async function imageDigest(r: Rig, args: string[]): Promise<string> {
  const file = join(r.fx.dir, `meta-${unique()}.json`);
  await ok(r, ['--metadata-file', file, ...args]);
  return (JSON.parse(await readFile(file, 'utf8')) as Record<string, string>)['containerimage.digest']!;
}

describe('BuildKit cache (dockerfile_cache_test.go)', () => {
  it('testCacheReleased: after two builds, prune --all leaves nothing', async () => {
    const r = await open({ Dockerfile: df('FROM busybox') });
    await ok(r, []);
    await ok(r, []);
    await pruneAll(r);
    const du = await runCli(['du', '--json'], { env: { TSBUILD_ROOT: r.fx.stateRoot } });
    expect(du.exitCode, du.stderr).toBe(0);
    const { rows } = JSON.parse(du.stdout) as { rows: { kind: string; items: number; reclaimable: boolean }[] };
    expect(rows.filter((row) => row.items > 0)).toEqual([]);
  });

  it('testExportCacheLoop', async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox as base
RUN echo aa > /foo
WORKDIR /bar

FROM base as base1
COPY hello.txt .

FROM base as base2
COPY --from=base1 /bar/hello.txt .
RUN true

FROM scratch
COPY --from=base2 /foo /f
`),
      'hello.txt': 'hello',
    });
    const cache = join(r.fx.dir, 'cache');
    await ok(r, ['--cache-to', `type=local,dest=${cache}`]);
    await pruneAll(r);
    await ok(r, ['--cache-to', `type=local,dest=${cache}`, '--cache-from', `type=local,src=${cache}`]);
  });

  it('testCacheMultiPlatformImportExport (a registry cache for the inline one, which tsbuild lacks)', async () => {
    const r = await open({
      Dockerfile: df(`
FROM --platform=$BUILDPLATFORM busybox AS base
ARG TARGETARCH
RUN echo -n $TARGETARCH> arch && cat /dev/urandom | head -c 100 | sha256sum > unique
FROM scratch
COPY --from=base unique /
COPY --from=base arch /
`),
    });
    const target = `${REGISTRY}/buildkit/testexportdf:multi-${unique()}`;
    const build = async (extra: string[]) => {
      const archive = join(r.fx.dir, `img-${unique()}.tar`);
      await ok(r, ['--platform', 'linux/amd64,linux/arm/v7', '-o', `type=oci,dest=${archive}`, ...extra]);
      const oci = await readOciArchive(archive);
      const list = await oci.json<Index>(oci.index.manifests[0]!.digest);
      expect(list.manifests).toHaveLength(2);
      const files = async (arch: string) => {
        const m = list.manifests.find((d) => d.platform?.architecture === arch)!;
        const mfst = await oci.json<Manifest>(m.digest);
        return {
          arch: (await oci.layerFiles(mfst.layers[1]!.digest)).get('arch'),
          unique: (await oci.layerFiles(mfst.layers[0]!.digest)).get('unique'),
        };
      };
      return { digest: oci.index.manifests[0]!.digest, amd: await files('amd64'), arm: await files('arm') };
    };
    const first = await build(['--cache-to', `type=registry,ref=${target}-cache`]);
    expect(first.amd.arch).toBe('amd64');
    expect(first.amd.unique).not.toBe(first.arm.unique);
    for (let i = 0; i < 2; i++) {
      await pruneAll(r);
      const again = await build([
        '--cache-from',
        `type=registry,ref=${target}-cache`,
        '--cache-to',
        `type=registry,ref=${target}-cache`,
      ]);
      expect(again.digest).toBe(first.digest);
      expect(again.arm.arch).toBe('arm');
      expect(again.amd.unique).toBe(first.amd.unique);
      expect(again.arm.unique).toBe(first.arm.unique);
    }
  });

  const exportDockerfile = df(`
FROM busybox AS base
COPY foo const
#RUN echo -n foobar > const
RUN cat /dev/urandom | head -c 100 | sha256sum > unique
FROM scratch
COPY --from=base const /
COPY --from=base unique /
`);

  it('testImageManifestCacheImportExport (the cache config is tsbuild’s own media type, not BuildKit’s)', async () => {
    const r = await open({ Dockerfile: exportDockerfile, foo: 'foobar' });
    const target = `${REGISTRY}/buildkit/testexportdf:${unique()}`;
    const first = await r.local(['--cache-to', `type=registry,ref=${target},oci-mediatypes=true`]);
    expect(first.exitCode, first.stderr).toBe(0);
    // the cache is an OCI image manifest (BuildKit's image-manifest=true form)
    const [repo, tag] = [target.slice(REGISTRY.length + 1, target.lastIndexOf(':')), target.split(':').pop()];
    const res = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${tag}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const manifest = (await res.json()) as Manifest & { mediaType: string };
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    // BuildKit: application/vnd.buildkit.cacheconfig.v0; tsbuild's caches are its own (README: Limits)
    expect(manifest.config.mediaType).toBe('application/vnd.tsbuild.cache.config.v1+json');
    expect(await first.read('const')).toBe('foobar');
    const dt = await first.read('unique');

    await pruneAll(r);
    const second = await r.local(['--cache-from', target]);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(await second.read('const')).toBe('foobar');
    expect(await second.read('unique')).toBe(dt);
  });

  it('testCacheImportExport', async () => {
    const r = await open({ Dockerfile: exportDockerfile, foo: 'foobar' });
    const target = `${REGISTRY}/buildkit/testexportdf:${unique()}`;
    const first = await r.local(['--cache-to', `type=registry,ref=${target}`]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(await first.read('const')).toBe('foobar');
    const dt = await first.read('unique');
    await pruneAll(r);
    const second = await r.local(['--cache-from', target]);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(await second.read('const')).toBe('foobar');
    expect(await second.read('unique')).toBe(dt);
  });

  const idsDockerfile = df(`
FROM busybox
ENV foo=bar
COPY foo /
RUN echo bar > bar
`);

  it('testReproducibleIDs: two names, one image', async () => {
    const r = await open({ Dockerfile: idsDockerfile, foo: 'foo-contents' });
    const one = await imageDigest(r, ['-t', 'example.com/moby/dockerfileids:test']);
    const two = await imageDigest(r, ['-t', 'example.com/moby/dockerfileids2:test']);
    expect(one).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(two).toBe(one);
  });

  it('testImportExportReproducibleIDs: the image rebuilt from an imported cache is the same', async () => {
    const r = await open({ Dockerfile: idsDockerfile, foo: 'foobar' });
    const cacheTarget = `${REGISTRY}/test/dockerfileexpids:cache-${unique()}`;
    const one = await imageDigest(r, [
      '-t',
      'example.com/moby/dockerfileexpids:test',
      '--cache-to',
      `type=registry,ref=${cacheTarget}`,
    ]);
    const rmi = await runCli(['rmi', 'example.com/moby/dockerfileexpids:test'], {
      env: { TSBUILD_ROOT: r.fx.stateRoot },
    });
    expect(rmi.exitCode, rmi.stderr).toBe(0);
    await pruneAll(r);
    const two = await imageDigest(r, [
      '-t',
      'example.com/moby/dockerfileexpids2:test',
      '--cache-to',
      `type=registry,ref=${cacheTarget}`,
      '--cache-from',
      cacheTarget,
    ]);
    expect(two).toBe(one);
  });

  it('testNoCache: --no-cache runs every step again, --no-cache-filter only that stage’s', async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox AS s0
RUN cat /dev/urandom | head -c 100 | sha256sum | tee unique
FROM busybox AS s1
RUN cat /dev/urandom | head -c 100 | sha256sum | tee unique2
FROM scratch
COPY --from=s0 unique /
COPY --from=s1 unique2 /
`),
    });
    const b1 = await r.local();
    expect(b1.exitCode, b1.stderr).toBe(0);
    const b2 = await r.local(['--no-cache']);
    expect(b2.exitCode, b2.stderr).toBe(0);
    expect(await b2.read('unique')).not.toBe(await b1.read('unique'));
    expect(await b2.read('unique2')).not.toBe(await b1.read('unique2'));
    const b3 = await r.local(['--no-cache-filter', 's1']);
    expect(b3.exitCode, b3.stderr).toBe(0);
    expect(await b3.read('unique')).toBe(await b2.read('unique'));
    expect(await b3.read('unique2')).not.toBe(await b1.read('unique2'));
  });

  it('testCacheMountModeNoCache (moby/buildkit#5305)', async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox AS base
ARG FOO=abc
RUN --mount=type=cache,target=/cache,mode=0773 touch /cache/$FOO && ls -l /cache | wc -l > /out

FROM scratch
COPY --from=base /out /
`),
    });
    const b1 = await r.local();
    expect(b1.exitCode, b1.stderr).toBe(0);
    expect(await b1.read('out')).toBe('2\n');
    const b2 = await r.local(['--no-cache', '--build-arg', 'FOO=def']);
    expect(b2.exitCode, b2.stderr).toBe(0);
    expect(await b2.read('out')).toBe('2\n');
    // safety check without --no-cache
    const b3 = await r.local(['--build-arg', 'FOO=ghi']);
    expect(b3.exitCode, b3.stderr).toBe(0);
    expect(await b3.read('out')).toBe('3\n');
  });

  it('testWildcardRenameCache (#2008): renaming the file a wildcard matched invalidates the cache', async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox
COPY file* /files/
RUN ls /files/file1
`),
      file1: 'foo',
    });
    await ok(r, []);
    await rename(join(r.fx.context, 'file1'), join(r.fx.context, 'file2'));
    const res = await r.cli([]);
    expect(res.exitCode).not.toBe(0);
  });
});
