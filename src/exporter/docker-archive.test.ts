import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ContentStore } from '../store/content-store.js';
import type { Descriptor, ImageConfig, ImageIndex } from '../image/types.js';
import { MediaType } from '../image/types.js';
import { resolveOciLayout } from '../registry/oci-layout.js';
import { sharedBusyboxLayout, type LayoutImage } from '../../test/helpers/busybox-layout.js';
import { writeDockerArchive, type DockerManifestEntry } from './docker-archive.js';

const run = promisify(execFile);

async function readTar(bytes: Buffer): Promise<{ name: string; data: Buffer }[]> {
  const out: { name: string; data: Buffer }[] = [];
  const ex = extract();
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      out.push({ name: entry.header.name, data: Buffer.concat(chunks) });
    }
  })();
  ex.end(bytes);
  await done;
  return out;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('writeDockerArchive', () => {
  let tmp: string;
  let img: LayoutImage;
  let store: ContentStore;
  let manifest: Descriptor;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsbuild-docker-archive-test-'));
    img = await sharedBusyboxLayout();
    store = new ContentStore(join(tmp, 'store'));
    manifest = (await resolveOciLayout(img.layout, 'latest', { os: 'linux', architecture: 'amd64' }, store))
      .manifestDescriptor;
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('manifest.json has the shape docker load reads, and every file it names is there', async () => {
    const dest = join(tmp, 'image.tar');
    await writeDockerArchive(
      store,
      manifest,
      ['app:1.0', 'docker.io/library/app:2', 'localhost:5000/team/app', 'user/tool'],
      dest,
    );
    const entries = await readTar(await readFile(dest));
    const files = new Map(entries.map((e) => [e.name, e.data]));
    expect(entries.map((e) => e.name).filter((n) => !n.startsWith('blobs/'))).toEqual([
      'index.json',
      'manifest.json',
      'oci-layout',
    ]);

    const parsed = JSON.parse(files.get('manifest.json')!.toString()) as DockerManifestEntry[];
    expect(parsed).toEqual([
      {
        Config: `blobs/sha256/${img.configDigest.slice(7)}`,
        RepoTags: ['app:1.0', 'app:2', 'localhost:5000/team/app:latest', 'user/tool:latest'],
        Layers: img.layerDigests.map((d) => `blobs/sha256/${d.slice(7)}`),
      },
    ]);

    // docker load: image ID = sha256 of the config file; each layer is decompressed and must hash to its diff_id
    const config = files.get(parsed[0]!.Config)!;
    expect(sha256(config)).toBe(img.configDigest);
    const diffIds = (JSON.parse(config.toString()) as ImageConfig).rootfs.diff_ids;
    expect(parsed[0]!.Layers).toHaveLength(diffIds.length);
    parsed[0]!.Layers.forEach((path, i) => {
      expect(sha256(gunzipSync(files.get(path)!))).toBe(diffIds[i]);
    });

    // the same tar is an OCI layout too (Docker 25+ and containerd import read that side)
    const index = JSON.parse(files.get('index.json')!.toString()) as ImageIndex;
    expect(index.manifests.map((m) => m.annotations?.['io.containerd.image.name'])).toEqual([
      'docker.io/library/app:1.0',
      'docker.io/library/app:2',
      'localhost:5000/team/app:latest',
      'docker.io/user/tool:latest',
    ]);
  });

  test('skopeo reads it both as a docker archive and as an OCI archive', async () => {
    const dest = join(tmp, 'both.tar');
    await writeDockerArchive(store, manifest, ['app:1.0'], dest);
    const asDocker = JSON.parse((await run('skopeo', ['inspect', `docker-archive:${dest}:app:1.0`])).stdout) as {
      Layers: string[];
      Architecture: string;
    };
    expect(asDocker.Architecture).toBe('amd64');
    // skopeo names docker-archive layers by diff_id: it serves them decompressed, as docker load reads them
    expect(asDocker.Layers).toEqual(img.diffIds);
    // copying re-reads config and layers and checks them against the manifest skopeo builds from manifest.json
    await run('skopeo', ['copy', '--quiet', `docker-archive:${dest}`, `oci:${join(tmp, 'from-docker')}:x`]);

    const asOci = JSON.parse((await run('skopeo', ['inspect', `oci-archive:${dest}:1.0`])).stdout) as {
      Digest: string;
    };
    expect(asOci.Digest).toBe(img.manifestDigest);
  });

  test('without names, RepoTags is empty and the image still loads by ID', async () => {
    const dest = join(tmp, 'unnamed.tar');
    await writeDockerArchive(store, manifest, [], dest);
    const files = new Map((await readTar(await readFile(dest))).map((e) => [e.name, e.data]));
    expect((JSON.parse(files.get('manifest.json')!.toString()) as DockerManifestEntry[])[0]!.RepoTags).toEqual([]);
    await run('skopeo', ['inspect', `docker-archive:${dest}`]);
  });

  test('a multi-platform image: every platform in the OCI view, the host platform in manifest.json (as Docker 25 saves)', async () => {
    // an arm64 twin of the busybox image (its config says arm64), put first in the index
    const amd = await store.readJson<{ config: Descriptor; layers: Descriptor[] }>(manifest.digest);
    const config = await store.readJson<ImageConfig>(amd.config.digest);
    const armConfig = await store.put(JSON.stringify({ ...config, architecture: 'arm64' }), MediaType.ociConfig);
    const armManifest = await store.put(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: armConfig, layers: amd.layers }),
      MediaType.ociManifest,
    );
    const index = await store.put(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          { ...armManifest, platform: { os: 'linux', architecture: 'arm64' } },
          { ...manifest, platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }),
      MediaType.ociIndex,
    );
    const dest = join(tmp, 'multi.tar');
    await writeDockerArchive(store, index, ['app:multi'], dest);
    const files = new Map((await readTar(await readFile(dest))).map((e) => [e.name, e.data]));
    const entries = JSON.parse(files.get('manifest.json')!.toString()) as DockerManifestEntry[];
    expect(entries).toEqual([
      {
        Config: `blobs/sha256/${img.configDigest.slice(7)}`,
        RepoTags: ['app:multi'],
        Layers: img.layerDigests.map((d) => `blobs/sha256/${d.slice(7)}`),
      },
    ]);
    const layout = JSON.parse(files.get('index.json')!.toString()) as ImageIndex;
    expect(layout.manifests.map((m) => [m.mediaType, m.digest])).toEqual([[MediaType.ociIndex, index.digest]]);
    expect(files.has(`blobs/sha256/${armManifest.digest.slice(7)}`)).toBe(true);
    expect(files.has(`blobs/sha256/${armConfig.digest.slice(7)}`)).toBe(true);

    const inspect = async (args: string[]) =>
      JSON.parse((await run('skopeo', ['inspect', ...args])).stdout) as { Architecture: string; Digest: string };
    expect((await inspect([`docker-archive:${dest}`])).Architecture).toBe('amd64');
    expect(await inspect(['--override-arch', 'arm64', `oci-archive:${dest}:multi`])).toMatchObject({
      Architecture: 'arm64',
      Digest: index.digest,
    });
    expect((await run('skopeo', ['inspect', '--raw', `oci-archive:${dest}:multi`])).stdout).toBe(
      (await store.read(index.digest)).toString(),
    );
  });
});
