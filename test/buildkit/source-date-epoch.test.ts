/**
 * BuildKit's frontend/dockerfile/dockerfile_source_date_epoch_test.go (the tests not ported in
 * behaviours.test.ts and add-git.test.ts) against our CLI. SOURCE_DATE_EPOCH always sets the image's
 * times and clamps the mtimes of the layers a build makes (README: Reproducible images); an output's
 * `source-date-epoch=` replaces (or, empty, drops) the build's epoch, and `rewrite-timestamp=true`
 * only adds BuildKit's buildkit/rewritten-timestamp annotation to the layers re-dated.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { BASE_LAYOUT, runCli } from '../helpers/build-fixture.js';
import { df, rigsForFile, type Rig } from './behaviours-rig.js';
import { type ImageConfig, type Manifest, readOciArchive } from './oci-rig.js';

const open = rigsForFile();
const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** Builds to an OCI archive: the manifest's digest, the manifest, the config and a reader of layer mtimes. */
async function ociBuild(r: Rig, args: string[], attrs = '') {
  const archive = join(r.fx.dir, `img-${unique()}.tar`);
  const res = await r.cli(['-o', `type=oci,dest=${archive}${attrs}`, ...args]);
  expect(res.exitCode, res.stderr).toBe(0);
  const oci = await readOciArchive(archive);
  const desc = oci.index.manifests[0]!;
  const manifest = await oci.json<Manifest>(desc.digest);
  const img = await oci.json<ImageConfig>(manifest.config.digest);
  /** name → mtime (seconds) of every entry of a layer. */
  const mtimes = async (digest: string) => {
    let tar = await readFile(join(oci.dir, 'blobs/sha256', digest.slice(7)));
    if (tar[0] === 0x1f && tar[1] === 0x8b) tar = gunzipSync(tar);
    const out = new Map<string, number>();
    const extract = tarStream.extract();
    const done = new Promise<void>((resolve, reject) => {
      extract.on('entry', (h, stream, next) => {
        out.set(h.name, Math.floor((h.mtime?.getTime() ?? 0) / 1000));
        stream.on('end', next);
        stream.resume();
      });
      extract.on('finish', resolve);
      extract.on('error', reject);
    });
    extract.end(tar);
    await done;
    return out;
  };
  return { digest: desc.digest, manifest, img, mtimes };
}

describe('BuildKit SOURCE_DATE_EPOCH (dockerfile_source_date_epoch_test.go)', () => {
  it('testSourceDateEpochWithoutExporter: the image and every history entry get the build-arg time', async () => {
    const tm = 1700000001;
    const r = await open({ Dockerfile: 'FROM scratch\nENTRYPOINT foo bar\nCOPY Dockerfile .\n' });
    const { img } = await ociBuild(r, ['--build-arg', `SOURCE_DATE_EPOCH=${tm}`]);
    expect(Date.parse(img.created!) / 1000).toBe(tm);
    expect(img.history?.length).toBeGreaterThan(0);
    for (const h of img.history ?? []) expect(Date.parse(h.created!) / 1000).toBe(tm);
  });

  it('testSourceDateEpochDockerfileDefaultReset: an empty source-date-epoch= on the output drops the ARG default', async () => {
    const tm = Date.parse('2015-10-21T07:28:00Z') / 1000;
    const r = await open({ Dockerfile: `ARG SOURCE_DATE_EPOCH=${tm}\nFROM scratch\nCOPY Dockerfile .\n` });
    const { manifest, img } = await ociBuild(r, [], ',source-date-epoch=,rewrite-timestamp=true');
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0]!.annotations?.['buildkit/rewritten-timestamp']).toBeUndefined();
    // no epoch at all: the image is dated now, not at the Dockerfile's default
    expect(Date.parse(img.created!) / 1000).toBeGreaterThan(tm);
  });

  // The counterparts of the reset above (behaviours.test.ts ports the Go tests without output attributes)
  it('rewrite-timestamp=true names the epoch on the layers the build re-dated, the ARG default’s', async () => {
    const tm = 1700000001;
    const r = await open({ Dockerfile: `ARG SOURCE_DATE_EPOCH=${tm}\nFROM scratch\nCOPY Dockerfile .\n` });
    const { manifest } = await ociBuild(r, [], ',rewrite-timestamp=true');
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0]!.annotations?.['buildkit/rewritten-timestamp']).toBe(String(tm));
    // without the attribute, the layer carries no annotation (digests stay as they were)
    const plain = await ociBuild(r, []);
    expect(plain.manifest.layers[0]!.annotations).toBeUndefined();
    expect(plain.manifest.layers[0]!.digest).toBe(manifest.layers[0]!.digest);
  });

  it('source-date-epoch=N on the output goes over the build arg and the ARG default', async () => {
    const r = await open({ Dockerfile: 'ARG SOURCE_DATE_EPOCH=1700000001\nFROM scratch\nCOPY Dockerfile .\n' });
    const { manifest, img, mtimes } = await ociBuild(
      r,
      ['--build-arg', 'SOURCE_DATE_EPOCH=1700000002'],
      ',source-date-epoch=1600000000,rewrite-timestamp=true',
    );
    expect(Date.parse(img.created!) / 1000).toBe(1600000000);
    expect(manifest.layers[0]!.annotations?.['buildkit/rewritten-timestamp']).toBe('1600000000');
    for (const [name, mtime] of await mtimes(manifest.layers[0]!.digest))
      expect(mtime, name).toBeLessThanOrEqual(1600000000);
  });

  it('outputs giving different source-date-epoch values are refused', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\nCOPY Dockerfile .\n' });
    const res = await r.cli([
      '-o',
      `type=oci,dest=${join(r.fx.dir, 'a.tar')},source-date-epoch=1`,
      '-o',
      `type=oci,dest=${join(r.fx.dir, 'b.tar')},source-date-epoch=2`,
    ]);
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toContain('different source-date-epoch values');
  });

  // BuildKit pins its own digests for amd64/debian from Docker Hub; here the base is our busybox
  // and each case's digest is compared between builds (after prune --all, and with the cache
  // imported), not to BuildKit's. tsbuild puts no buildkit/rewritten-timestamp annotation on layers.
  describe('testReproSourceDateEpoch (busybox base, digests compared between builds)', async () => {
    const tm = 1673354096; // 2023-01-10T12:34:56Z
    const baseDir = BASE_LAYOUT;
    const baseIndex = JSON.parse(await readFile(join(baseDir, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const baseBlob = async <T>(d: string) =>
      JSON.parse(await readFile(join(baseDir, 'blobs/sha256', d.slice(7)), 'utf8')) as T;
    const baseManifest = await baseBlob<Manifest>(baseIndex.manifests[0]!.digest);
    const baseImage = await baseBlob<ImageConfig>(baseManifest.config.digest);
    const cases: { name: string; dockerfile: string; files?: Record<string, string> }[] = [
      {
        name: 'Basic',
        dockerfile: `
FROM busybox
RUN touch /foo
RUN touch /foo.1
RUN touch -d '2010-01-01 12:34:56' /foo-2010
RUN touch -d '2010-01-01 12:34:56' /foo-2010.1
RUN touch -d '2030-01-01 12:34:56' /foo-2030
RUN touch -d '2030-01-01 12:34:56' /foo-2030.1
RUN rm -f /foo.1
RUN rm -f /foo-2010.1
RUN rm -f /foo-2030.1
`,
      },
      { name: 'CopyLink', dockerfile: 'FROM busybox\nCOPY --link foo foo\n', files: { foo: 'foo' } },
      { name: 'NoAdditionalLayer', dockerfile: 'FROM busybox\n' },
    ];
    for (const tc of cases) {
      it(tc.name, async () => {
        const r = await open({ Dockerfile: df(tc.dockerfile), ...tc.files });
        const cacheRef = `127.0.0.1:5000/buildkit/testreprosourcedateepoch-${tc.name.toLowerCase()}:${tm}-${unique()}`;
        const args = ['--platform', 'linux/amd64', '--build-arg', `SOURCE_DATE_EPOCH=${tm}`];
        const first = await ociBuild(r, [...args, '--cache-to', `type=registry,ref=${cacheRef}`]);
        // the base's history and layers stay as they are
        for (const [i, h] of (baseImage.history ?? []).entries())
          expect(first.img.history?.[i]?.created).toBe(h.created);
        for (const [i, l] of baseManifest.layers.entries()) expect(first.manifest.layers[i]!.digest).toBe(l.digest);
        // the layers the build made: no mtime later than SOURCE_DATE_EPOCH
        for (const l of first.manifest.layers.slice(baseManifest.layers.length)) {
          for (const [name, mtime] of await first.mtimes(l.digest)) expect(mtime, name).toBeLessThanOrEqual(tm);
          expect(l.annotations?.['buildkit/rewritten-timestamp']).toBeUndefined();
        }
        if (tc.name === 'Basic') {
          // an mtime before SOURCE_DATE_EPOCH is kept (RUN touch -d 2010 /foo-2010, the third RUN)
          const layer = await first.mtimes(first.manifest.layers[baseManifest.layers.length + 2]!.digest);
          expect(layer.get('foo-2010')).toBe(Date.parse('2010-01-01T12:34:56Z') / 1000);
        }

        // build again after pruning everything (moby/buildkit#4746), then from the imported cache
        const prune = await runCli(['prune', '--all', '-f'], { env: { TSBUILD_ROOT: r.fx.stateRoot } });
        expect(prune.exitCode, prune.stderr).toBe(0);
        expect((await ociBuild(r, args)).digest).toBe(first.digest);
        const prune2 = await runCli(['prune', '--all', '-f'], { env: { TSBUILD_ROOT: r.fx.stateRoot } });
        expect(prune2.exitCode, prune2.stderr).toBe(0);
        expect((await ociBuild(r, [...args, '--cache-from', cacheRef])).digest).toBe(first.digest);
      }, 60_000);
    }
  });
});
