/**
 * BuildKit's frontend/dockerfile/dockerfile_image_test.go (the tests not ported elsewhere) against
 * our CLI. The image store the Go tests read back from containerd is tsbuild's state directory.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeContext } from '../helpers/build-fixture.js';
import { df, rigsForFile } from './behaviours-rig.js';
import { type ImageConfig, type Index, type Manifest, readOciArchive } from './oci-rig.js';

const open = rigsForFile();

describe('BuildKit images (dockerfile_image_test.go)', () => {
  // BuildKit's containerd worker finds the first image in its own store; tsbuild's FROM asks a
  // registry, so it is pushed to the local one (127.0.0.1:5000) under a name of this run
  it('testPullScratch: an image with no layer is a base (FROM) and a mount', async () => {
    const target = `127.0.0.1:5000/moby/testpullscratch:${Date.now().toString(36)}`;
    const r = await open({ Dockerfile: 'FROM scratch\nLABEL foo=bar\n' });
    const first = await r.cli(['-t', target, '--push']);
    expect(first.exitCode, first.stderr).toBe(0);

    await writeContext(r.fx.context, {
      Dockerfile: `FROM ${target}\nLABEL bar=baz\nCOPY foo .\n`,
      foo: 'foo-contents',
    });
    const archive = join(r.fx.dir, 'second.tar');
    const second = await r.cli(['-t', 'docker.io/moby/testpullscratch2:latest', '-o', `type=oci,dest=${archive}`]);
    expect(second.exitCode, second.stderr).toBe(0);
    const oci = await readOciArchive(archive);
    const img = await oci.json<ImageConfig & { rootfs: { type: string } }>(
      (await oci.json<Manifest>(oci.index.manifests[0]!.digest)).config.digest,
    );
    expect(img.rootfs.type).toBe('layers');
    expect(img.rootfs.diff_ids).toHaveLength(1);
    expect(img.config.Labels).toMatchObject({ foo: 'bar', bar: 'baz' });

    // BuildKit's LLB mounts the layerless image at /empty and exports that mount; a Dockerfile
    // exports a stage, so the RUN copies what it wrote into the mount out to the stage
    await writeContext(r.fx.context, {
      Dockerfile: df(`
FROM busybox AS echo
RUN --mount=from=${target},target=/empty,rw sh -c "echo -n foo0 > /empty/foo && cp /empty/foo /foo"
FROM scratch
COPY --from=echo /foo /foo
`),
    });
    const third = await r.local();
    expect(third.exitCode, third.stderr).toBe(0);
    expect(await third.read('foo')).toBe('foo0');
  });

  it('testOCILayoutMultiname', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\nCOPY <<EOF /foo\nhello\nEOF\n' });
    const validateIdx = (idx: Index) => {
      expect(idx.manifests).toHaveLength(2);
      const [a, b] = idx.manifests as [Index['manifests'][0], Index['manifests'][0]];
      expect(a.digest).toBe(b.digest);
      expect(a.platform).toEqual(b.platform);
      expect(a.mediaType).toBe(b.mediaType);
      expect(a.size).toBe(b.size);
      expect(a.annotations?.['io.containerd.image.name']).toBe('docker.io/org/repo:tag1');
      expect(b.annotations?.['io.containerd.image.name']).toBe('docker.io/org/repo:tag2');
      expect(a.annotations?.['org.opencontainers.image.ref.name']).toBe('tag1');
      expect(b.annotations?.['org.opencontainers.image.ref.name']).toBe('tag2');
    };
    const dest = join(r.fx.dir, 'layout');
    const dir = await r.cli(['-o', `type=oci,tar=false,dest=${dest},"name=org/repo:tag1,org/repo:tag2"`]);
    expect(dir.exitCode, dir.stderr).toBe(0);
    validateIdx(JSON.parse(await readFile(join(dest, 'index.json'), 'utf8')) as Index);

    // the tar variant matches
    const archive = join(r.fx.dir, 'out.tar');
    const tar = await r.cli(['-o', `type=oci,dest=${archive},"name=org/repo:tag1,org/repo:tag2"`]);
    expect(tar.exitCode, tar.stderr).toBe(0);
    validateIdx((await readOciArchive(archive)).index);
  });

  it('testMultiNilRefsOCIExporter', async () => {
    const r = await open({ Dockerfile: 'FROM scratch' });
    const archive = join(r.fx.dir, 'out.tar');
    const res = await r.cli(['--platform', 'linux/arm64,linux/amd64', '-o', `type=oci,dest=${archive}`]);
    expect(res.exitCode, res.stderr).toBe(0);
    const oci = await readOciArchive(archive);
    expect(oci.index.manifests).toHaveLength(1);
    expect((await oci.json<Index>(oci.index.manifests[0]!.digest)).manifests).toHaveLength(2);
  });
});
