/**
 * What a linux/amd64 + linux/arm64 build gives each output and the store (made from the amd64+arm64
 * busybox index of fixtures/base/make-multiarch-layout.sh, pushed to a local registry): a docker
 * archive as Docker 25 saves an index, `oci-mediatypes=false` (a Docker manifest list), buildx's
 * `--metadata-file` keys for an index, index annotations, and the stored index in `images --tree`,
 * `inspect --platform`, `run --platform` (arm64 under QEMU), `save` and `push`. Also: a registry that
 * refuses OCI manifests gets Docker ones. dockerd here is 20.10, which cannot load an index: the
 * archives are read with skopeo, and `--load` is checked to give 20.10 the host's platform.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../src/image/types.js';
import { startFlakyProxy, type FlakyProxy } from '../helpers/flaky-proxy.js';
import { makeFixture, runCli, type Fixture } from '../helpers/build-fixture.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { MULTI_ARCH_LAYOUT, multiArchMissing } from '../helpers/multi-arch-base.js';

const run = promisify(execFile);
const LAYOUT = MULTI_ARCH_LAYOUT;

const skipReason = await multiArchMissing();
if (skipReason) console.warn(`multi-platform-outputs.test.ts skipped: ${skipReason}`);

interface Index {
  mediaType: string;
  annotations?: Record<string, string>;
  manifests: {
    mediaType: string;
    digest: string;
    platform?: { architecture: string };
    annotations?: Record<string, string>;
  }[];
}

/** One file of a tar archive. */
const fromTar = async (tar: string, name: string): Promise<string> =>
  (await run('tar', ['-xOf', tar, name], { maxBuffer: 64 << 20 })).stdout;
const blob = (tar: string, digest: string) => fromTar(tar, `blobs/sha256/${digest.slice(7)}`);

describe.skipIf(!!skipReason)('multi-platform outputs and the stored index', () => {
  let reg: TestRegistry;
  let fx: Fixture;
  let base: string;
  let env: Record<string, string>;
  const cli = (args: string[]) => runCli(args, { env });
  beforeAll(async () => {
    reg = await startRegistry();
    await reg.push(LAYOUT, 'latest', 'tsb/multi:1', { all: true });
    base = `${reg.host}/tsb/multi:1`;
    fx = await makeFixture({ Dockerfile: `FROM ${base}\nRUN uname -m > /arch\n` });
    env = { TSBUILD_ROOT: fx.stateRoot };
  });
  afterAll(async () => {
    await fx?.cleanup();
    await reg?.stop();
  });

  it('docker archive, oci-mediatypes=false, metadata file, index annotations; then images/inspect/run/save/push of the stored index', async () => {
    const dockerTar = join(fx.dir, 'docker.tar');
    const ociTar = join(fx.dir, 'oci.tar');
    const meta = join(fx.dir, 'meta.json');
    const built = await cli([
      '--progress=plain',
      '--insecure-registry',
      reg.host,
      '--platform',
      'linux/amd64,linux/arm64',
      '-t',
      'multi:1',
      '-o',
      `type=docker,dest=${dockerTar}`,
      '-o',
      `type=oci,dest=${ociTar},oci-mediatypes=false`,
      '--metadata-file',
      meta,
      '--annotation',
      'index:org.example.index=1',
      '--annotation',
      'index-descriptor:org.example.index-descriptor=2',
      '--annotation',
      'manifest[linux/arm64]:org.example.arm=3',
      fx.context,
    ]);
    expect(built.exitCode, built.stderr).toBe(0);

    // docker archive: the index in index.json (with its descriptor annotation), the host's image in manifest.json
    const layout = JSON.parse(await fromTar(dockerTar, 'index.json')) as Index;
    expect(layout.manifests).toHaveLength(1);
    const top = layout.manifests[0]!;
    expect(top.mediaType).toBe(MediaType.ociIndex);
    expect(top.annotations).toMatchObject({ 'org.example.index-descriptor': '2' });
    const index = JSON.parse(await blob(dockerTar, top.digest)) as Index;
    expect(index.annotations).toEqual({ 'org.example.index': '1' });
    expect(index.manifests.map((m) => m.platform?.architecture)).toEqual(['amd64', 'arm64']);
    const [amdDesc, armDesc] = index.manifests;
    const armManifest = JSON.parse(await blob(dockerTar, armDesc!.digest)) as { annotations?: Record<string, string> };
    const amdManifest = JSON.parse(await blob(dockerTar, amdDesc!.digest)) as {
      config: { digest: string };
      annotations?: Record<string, string>;
    };
    expect(armManifest.annotations).toEqual({ 'org.example.arm': '3' });
    expect(amdManifest.annotations).toBeUndefined();
    const entries = JSON.parse(await fromTar(dockerTar, 'manifest.json')) as { Config: string; RepoTags: string[] }[];
    expect(entries).toEqual([
      expect.objectContaining({ Config: `blobs/sha256/${amdManifest.config.digest.slice(7)}` }),
    ]);
    expect(entries[0]!.RepoTags).toEqual(['multi:1']);
    const inspect = async (ref: string, extra: string[] = []) =>
      JSON.parse((await run('skopeo', ['inspect', ...extra, ref])).stdout) as { Architecture: string };
    expect((await inspect(`docker-archive:${dockerTar}`)).Architecture).toBe('amd64');
    expect((await inspect(`oci-archive:${dockerTar}:1`, ['--override-arch', 'arm64'])).Architecture).toBe('arm64');

    // oci-mediatypes=false: a Docker manifest list of Docker manifests, configs and layers
    const list = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci-archive:${ociTar}`])).stdout) as Index;
    expect(list.mediaType).toBe(MediaType.dockerManifestList);
    expect(list.manifests.map((m) => m.mediaType)).toEqual([MediaType.dockerManifest, MediaType.dockerManifest]);
    const dockerArm = JSON.parse(await blob(ociTar, list.manifests[1]!.digest)) as {
      config: { mediaType: string };
      layers: { mediaType: string }[];
    };
    expect(dockerArm.config.mediaType).toBe(MediaType.dockerConfig);
    expect(new Set(dockerArm.layers.map((l) => l.mediaType))).toEqual(new Set([MediaType.dockerLayerGzip]));
    expect((await inspect(`oci-archive:${ociTar}`, ['--override-arch', 'arm64'])).Architecture).toBe('arm64');

    // --metadata-file: the index's digest and descriptor, no config digest (buildx writes none for an index)
    const metadata = JSON.parse(await readFile(meta, 'utf8')) as Record<string, unknown>;
    expect(metadata['containerimage.config.digest']).toBeUndefined();
    expect(metadata['containerimage.digest']).toBe(top.digest);
    expect(metadata['containerimage.descriptor']).toMatchObject({ mediaType: MediaType.ociIndex, digest: top.digest });

    // the store: one row per image, its platforms under it with --tree
    const tree = await cli(['images', '--tree']);
    expect(tree.exitCode, tree.stderr).toBe(0);
    expect(tree.stdout).toMatch(/^multi:1 +\w{12} /m);
    expect(tree.stdout).toMatch(/^├─ linux\/amd64 +\w{12} /m);
    expect(tree.stdout).toMatch(/^└─ linux\/arm64 +\w{12} /m);
    const armInspect = await cli(['inspect', '--platform', 'linux/arm64', 'multi:1']);
    expect(armInspect.exitCode, armInspect.stderr).toBe(0);
    expect(JSON.parse(armInspect.stdout)).toEqual([
      expect.objectContaining({ Architecture: 'arm64', RepoTags: ['multi:1'] }),
    ]);
    const none = await cli(['inspect', '--platform', 'linux/s390x', 'multi:1']);
    expect(none.exitCode).not.toBe(0);
    expect(none.stderr).toMatch(/does not provide the specified platform \(linux\/s390x\)/);
    expect(none.stderr).toMatch(/linux\/amd64, linux\/arm64/);

    // run --platform: the arm64 image's process, under QEMU
    const arm = await cli(['run', '--platform', 'linux/arm64', 'multi:1', 'sh', '-c', 'uname -m; cat /arch']);
    expect(arm.exitCode, arm.stderr).toBe(0);
    expect(arm.stdout).toBe('aarch64\naarch64\n');
    expect(arm.stderr).not.toMatch(/does not match this machine/);
    const host = await cli(['run', 'multi:1', 'cat', '/arch']);
    expect(host.stdout).toBe('x86_64\n');

    // save carries every platform
    const saved = join(fx.dir, 'saved.tar');
    const save = await cli(['save', '-o', saved, 'multi:1']);
    expect(save.exitCode, save.stderr).toBe(0);
    expect((await inspect(`oci-archive:${saved}:1`, ['--override-arch', 'arm64'])).Architecture).toBe('arm64');

    // push: the index and both manifests
    const remote = `${reg.host}/tsb/pushed:1`;
    expect((await cli(['tag', 'multi:1', remote])).exitCode).toBe(0);
    const push = await cli(['push', '--insecure-registry', reg.host, remote]);
    expect(push.exitCode, push.stderr).toBe(0);
    const raw = (await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${remote}`])).stdout;
    const pushed = JSON.parse(raw) as Index;
    expect(pushed.mediaType).toBe(MediaType.ociIndex);
    expect(pushed.manifests.map((m) => m.platform?.architecture)).toEqual(['amd64', 'arm64']);
    expect((await inspect(`docker://${remote}`, ['--tls-verify=false', '--override-arch', 'arm64'])).Architecture).toBe(
      'arm64',
    );
  });

  it('--load gives docker 20.10 the host platform of the index (docker 25 with the containerd store takes them all)', async () => {
    const docker = await run('docker', ['version', '--format', '{{.Server.Version}}']).then(
      (r) => r.stdout.trim(),
      () => '',
    );
    if (!docker) return console.warn('--load check skipped: no docker daemon answers');
    const name = `tsbuild-multi-load:${process.pid}`;
    const built = await cli([
      '--progress=plain',
      '--insecure-registry',
      reg.host,
      '--platform',
      'linux/amd64,linux/arm64',
      '-t',
      name,
      '--load',
      fx.context,
    ]);
    try {
      expect(built.exitCode, built.stderr).toBe(0);
      const arch = (await run('docker', ['image', 'inspect', '--format', '{{.Architecture}}', name])).stdout.trim();
      expect(arch).toBe('amd64');
    } finally {
      await run('docker', ['rmi', name]).catch(() => {});
    }
  });

  it('a registry that refuses OCI manifests is pushed Docker media types, with a warning', async () => {
    let proxy: FlakyProxy | undefined;
    try {
      proxy = await startFlakyProxy(reg.port, {
        answer: (r) =>
          r.method === 'PUT' && r.url.includes('/manifests/') && r.contentType?.startsWith('application/vnd.oci.')
            ? {
                status: 400,
                body: { errors: [{ code: 'MANIFEST_INVALID', message: 'manifest invalid: unsupported media type' }] },
              }
            : undefined,
      });
      const remote = `${proxy.host}/tsb/docker-only:1`;
      const pushed = await cli([
        '--progress=plain',
        '--insecure-registry',
        reg.host,
        '--insecure-registry',
        proxy.host,
        '--platform',
        'linux/amd64,linux/arm64',
        '-t',
        remote,
        '--push',
        fx.context,
      ]);
      expect(pushed.exitCode, pushed.stderr).toBe(0);
      expect(pushed.stderr).toMatch(/pushing Docker media types instead/);
      const raw = (await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${remote}`])).stdout;
      const list = JSON.parse(raw) as Index;
      expect(list.mediaType).toBe(MediaType.dockerManifestList);
      expect(list.manifests.map((m) => m.mediaType)).toEqual([MediaType.dockerManifest, MediaType.dockerManifest]);

      // told oci-mediatypes=true, it keeps them and fails as the registry says
      const refused = await cli([
        '--progress=plain',
        '--insecure-registry',
        reg.host,
        '--insecure-registry',
        proxy.host,
        '--platform',
        'linux/amd64,linux/arm64',
        '-o',
        `type=image,name=${proxy.host}/tsb/oci-only:1,push=true,oci-mediatypes=true`,
        fx.context,
      ]);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toMatch(/MANIFEST_INVALID/);
    } finally {
      await proxy?.stop();
    }
  });
});
