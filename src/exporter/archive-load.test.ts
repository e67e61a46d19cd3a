import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ContentStore } from '../store/content-store.js';
import { MediaType, type Descriptor, type ImageManifest } from '../image/types.js';
import { resolveOciLayout } from '../registry/oci-layout.js';
import { sharedBusyboxLayout } from '../../test/helpers/busybox-layout.js';
import { UserError } from '../errors.js';
import { loadArchive, ociEntryName } from './archive-load.js';
import { writeDockerArchive } from './docker-archive.js';
import { writeOciArchive } from './oci-archive.js';

const run = promisify(execFile);

async function tarOf(files: Record<string, Buffer>): Promise<Buffer> {
  const p = pack();
  for (const [name, data] of Object.entries(files)) p.entry({ name }, data);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('loadArchive', () => {
  let tmp: string;
  let source: ContentStore;
  let manifest: Descriptor;
  let config: string;
  const fresh = (name: string) => new ContentStore(join(tmp, name));

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsbuild-archive-load-test-'));
    const img = await sharedBusyboxLayout();
    source = fresh('source');
    manifest = (await resolveOciLayout(img.layout, 'latest', { os: 'linux', architecture: 'amd64' }, source))
      .manifestDescriptor;
    config = (await source.readJson<ImageManifest>(manifest.digest)).config.digest;
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('a docker archive of ours: the same manifest, named by RepoTags, every blob in the store', async () => {
    const file = join(tmp, 'docker.tar');
    await writeDockerArchive(source, manifest, ['app:1', 'localhost:5000/x/app:2'], file);
    const store = fresh('docker');
    const loaded = await loadArchive(store, createReadStream(file), file);
    expect(loaded).toEqual([
      { target: expect.objectContaining({ digest: manifest.digest }), names: ['app:1', 'localhost:5000/x/app:2'] },
    ]);
    const m = await store.readJson<ImageManifest>(manifest.digest);
    for (const b of [m.config, ...m.layers]) expect(await store.has(b.digest)).toBe(true);
  });

  test('a multi-platform docker archive (as Docker 25 saves one): the index is loaded when it is whole, else the entry', async () => {
    const amd = await source.readJson<ImageManifest>(manifest.digest);
    const armConfig = await source.put(
      JSON.stringify({ ...(await source.readJson<object>(amd.config.digest)), architecture: 'arm64' }),
      MediaType.ociConfig,
    );
    const arm = await source.put(JSON.stringify({ ...amd, config: armConfig }), MediaType.ociManifest);
    const index = await source.put(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          { ...manifest, platform: { os: 'linux', architecture: 'amd64' } },
          { ...arm, platform: { os: 'linux', architecture: 'arm64' } },
        ],
      }),
      MediaType.ociIndex,
    );
    const file = join(tmp, 'multi.tar');
    await writeDockerArchive(source, index, ['app:multi'], file);
    const loaded = await loadArchive(fresh('multi'), createReadStream(file), file);
    expect(loaded).toEqual([{ target: expect.objectContaining({ digest: index.digest }), names: ['app:multi'] }]);

    // the arm64 config left out: only the platform manifest.json names is loaded
    const dir = join(tmp, 'multi-partial');
    await run('mkdir', ['-p', dir]);
    await run('tar', ['-xf', file, '-C', dir]);
    await rm(join(dir, 'blobs/sha256', armConfig.digest.slice(7)));
    const partial = join(tmp, 'multi-partial.tar');
    await run('tar', ['-cf', partial, '-C', dir, '.']);
    const one = await loadArchive(fresh('partial'), createReadStream(partial), partial);
    expect(one).toEqual([{ target: expect.objectContaining({ digest: manifest.digest }), names: ['app:multi'] }]);
  });

  test('an OCI archive of ours, gzipped: names from io.containerd.image.name', async () => {
    const file = join(tmp, 'oci.tar');
    await writeOciArchive(source, manifest, ['app:1', 'app:2'], file);
    const store = fresh('oci');
    const loaded = await loadArchive(store, Readable.from([gzipSync(await readFile(file))]), 'stdin');
    expect(loaded).toEqual([
      {
        target: expect.objectContaining({ digest: manifest.digest }),
        names: ['docker.io/library/app:1', 'docker.io/library/app:2'],
      },
    ]);
  });

  test("skopeo's docker archive (legacy layout, uncompressed layers) and OCI archive load with the same image ID", async () => {
    const oci = join(tmp, 'for-skopeo.tar');
    await writeOciArchive(source, manifest, [], oci);
    const docker = join(tmp, 'skopeo-docker.tar');
    await run('skopeo', ['copy', '-q', `oci-archive:${oci}`, `docker-archive:${docker}:sk/app:3`]);
    const store = fresh('skopeo');
    const [fromDocker] = await loadArchive(store, createReadStream(docker), docker);
    expect(fromDocker!.names).toEqual(['docker.io/sk/app:3']);
    // no index.json beside manifest.json: tsbuild wrote the manifest, uncompressed layers checked against diff_ids
    expect(fromDocker!.target.digest).not.toBe(manifest.digest);
    const m = await store.readJson<ImageManifest>(fromDocker!.target.digest);
    expect(m.config.digest).toBe(config);
    for (const l of m.layers) expect(await store.has(l.digest)).toBe(true);

    const skOci = join(tmp, 'skopeo-oci.tar');
    await run('skopeo', ['copy', '-q', `oci-archive:${oci}`, `oci-archive:${skOci}:sk/app:4`]);
    const [fromOci] = await loadArchive(store, createReadStream(skOci), skOci);
    expect(fromOci!.names).toEqual(['docker.io/sk/app:4']);
    expect((await store.readJson<ImageManifest>(fromOci!.target.digest)).config.digest).toBe(config);
  });

  test('a blob whose content is not its name fails the load, and nothing is named', async () => {
    const bad = Buffer.from('not what the name says');
    const tar = await tarOf({
      'oci-layout': Buffer.from('{"imageLayoutVersion":"1.0.0"}'),
      [`blobs/sha256/${'a'.repeat(64)}`]: bad,
      'index.json': Buffer.from('{"schemaVersion":2,"manifests":[]}'),
    });
    const store = fresh('corrupt');
    await expect(loadArchive(store, Readable.from([tar]), 'bad.tar')).rejects.toThrow(/corrupt/);
    expect(await store.has(`sha256:${'a'.repeat(64)}`)).toBe(false);
  });

  test('an empty input or a tar without an image is a user error', async () => {
    await expect(loadArchive(fresh('e1'), Readable.from([Buffer.alloc(0)]), 'stdin')).rejects.toBeInstanceOf(UserError);
    const file = join(tmp, 'plain.tar');
    await writeFile(file, await tarOf({ 'hello.txt': Buffer.from('hi') }));
    await expect(loadArchive(fresh('e2'), createReadStream(file), file)).rejects.toThrow(/holds no image/);
  });

  test('an OCI ref name alone is a tag and names nothing; a whole reference does', () => {
    const d = (annotations: Record<string, string>) => ({
      mediaType: '',
      digest: manifest.digest,
      size: 1,
      annotations,
    });
    expect(ociEntryName(d({ 'org.opencontainers.image.ref.name': 'latest' }))).toBeUndefined();
    expect(ociEntryName(d({ 'org.opencontainers.image.ref.name': 'app:1' }))).toBe('docker.io/library/app:1');
    expect(
      ociEntryName(d({ 'io.containerd.image.name': 'r.example/a:1', 'org.opencontainers.image.ref.name': '1' })),
    ).toBe('r.example/a:1');
  });
});
