import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ContentStore } from '../store/content-store.js';
import { MediaType, type Descriptor, type Digest, type ImageManifest } from '../image/types.js';
import { taggedBlobs } from '../cache/gc.js';
import { resolveOciLayout } from '../registry/oci-layout.js';
import { sharedBusyboxLayout } from '../../test/helpers/busybox-layout.js';
import { UserError } from '../errors.js';
import { putAttestationManifest } from './attestation-manifest.js';
import { ImageStore } from './image-store.js';
import { storeImage } from './local-store.js';

describe('ImageStore', () => {
  let tmp: string;
  let store: ContentStore;
  let images: ImageStore;
  let manifest: Descriptor;
  let configDigest: string;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsbuild-image-store-test-'));
    const img = await sharedBusyboxLayout();
    store = new ContentStore(join(tmp, 'content'));
    manifest = (await resolveOciLayout(img.layout, 'latest', { os: 'linux', architecture: 'amd64' }, store))
      .manifestDescriptor;
    configDigest = (await store.readJson<ImageManifest>(manifest.digest)).config.digest;
    await storeImage(store, manifest, ['app', 'localhost:5000/team/app:1']);
    images = new ImageStore(store);
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('lists names as docker shows them, and the config digest as the image ID', async () => {
    const list = await images.list();
    expect(list.map((i) => [i.name?.repository, i.name?.tag, i.name?.familiar])).toEqual([
      ['app', 'latest', 'app:latest'],
      ['localhost:5000/team/app', '1', 'localhost:5000/team/app:1'],
    ]);
    const details = await images.details(list[0]!.target);
    expect(details.id).toBe(configDigest);
    expect(details.size).toBeGreaterThan(manifest.size);
  });

  test('finds an image by short or full name, by name@digest, and by a unique ID prefix', async () => {
    for (const ref of ['app', 'app:latest', 'docker.io/library/app', 'library/app:latest'])
      expect((await images.resolve(ref)).images.map((i) => i.name?.full)).toEqual(['docker.io/library/app:latest']);
    expect((await images.resolve(`app@${manifest.digest}`)).images).toHaveLength(1);
    const byId = await images.resolve(configDigest.slice(7, 19));
    expect(byId.byId).toBe(true);
    expect(byId.images).toHaveLength(2);
    expect((await images.resolve(configDigest)).images).toHaveLength(2);
    await expect(images.resolve('other')).rejects.toThrow('No such image: other');
  });

  test('tag adds a name; rmi of an ID with several names needs force; rmi of a name untags only it', async () => {
    expect((await images.tag('app', 'app:2')).familiar).toBe('app:2');
    expect((await images.resolve('app:2')).images[0]!.target.digest).toBe(manifest.digest);
    await expect(images.remove(configDigest.slice(7, 19))).rejects.toBeInstanceOf(UserError);
    expect(await images.remove('app:2')).toEqual({ untagged: ['app:2'] });
    const forced = await images.remove(configDigest, { force: true });
    expect(forced.untagged.sort()).toEqual(['app:latest', 'localhost:5000/team/app:1']);
    expect(forced.deleted).toBe(configDigest);
    expect(await images.list()).toEqual([]);
    // the blobs stay for prune to take
    expect(await store.has(manifest.digest)).toBe(true);
  });

  test('a repo digest is recorded on a stored name, shown for its image, kept by a rebuild, and holds no blob', async () => {
    await storeImage(store, manifest, ['reg.example/app:1', 'other:1']);
    const digest = `sha256:${'d'.repeat(64)}` as Digest;
    const roots = await taggedBlobs(store);
    await images.recordRepoDigest('reg.example/app:1', digest);
    // the GC's roots are the same: an annotation refers to nothing
    expect(await taggedBlobs(store)).toEqual(roots);
    expect(await images.repoDigests(configDigest as Digest)).toEqual([`reg.example/app@${digest}`]);
    const named = (await images.list()).find((i) => i.name?.familiar === 'reg.example/app:1');
    expect(named?.repoDigest).toBe(`reg.example/app@${digest}`);
    // naming the same image again (a rebuild) keeps it, and writes index.json no more
    const before = JSON.stringify(await store.readIndex());
    await storeImage(store, manifest, ['reg.example/app:1']);
    expect(JSON.stringify(await store.readIndex())).toBe(before);
    // rmi takes the record with the name
    await images.remove('reg.example/app:1');
    expect(await images.repoDigests(configDigest as Digest)).toEqual([]);
    await images.remove('other:1');
  });

  test('an image without a name is kept as an unnamed entry, once', async () => {
    await images.add(manifest, []);
    await images.add(manifest, []);
    const list = await images.list();
    expect(list).toHaveLength(1);
    expect(list[0]!.name).toBeUndefined();
    expect((await images.remove(configDigest.slice(7))).deleted).toBe(configDigest);
  });

  test('a multi-platform index: details per platform, the host by default, a missing platform named', async () => {
    const amd = await store.readJson<ImageManifest>(manifest.digest);
    const config = await store.readJson<Record<string, unknown>>(amd.config.digest);
    const armConfig = await store.put(JSON.stringify({ ...config, architecture: 'arm64' }), MediaType.ociConfig);
    const arm = await store.put(JSON.stringify({ ...amd, config: armConfig }), MediaType.ociManifest);
    const index = await store.put(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          { ...arm, platform: { os: 'linux', architecture: 'arm64' } },
          { ...manifest, platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }),
      MediaType.ociIndex,
    );
    expect((await images.details(index)).id).toBe(configDigest);
    expect((await images.details(index, { os: 'linux', architecture: 'arm64', variant: 'v8' })).id).toBe(
      armConfig.digest,
    );
    expect((await images.platformsOf(index)).map((p) => [p.platform, p.details.id])).toEqual([
      ['linux/arm64', armConfig.digest],
      ['linux/amd64', configDigest],
    ]);
    expect(await images.platformsOf(manifest)).toEqual([]);
    const err = await images.details(index, { os: 'linux', architecture: 's390x' }).catch((e: UserError) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(/does not provide the specified platform \(linux\/s390x\)/);
    expect((err as UserError).hint).toBe('it has linux/arm64, linux/amd64');
    // a single-platform image has only its own
    const single = await images.details(manifest, { os: 'linux', architecture: 'arm64' }).catch((e: Error) => e);
    expect((single as Error).message).toMatch(/linux\/arm64/);
    expect((await images.details(manifest, { os: 'linux', architecture: 'amd64' })).id).toBe(configDigest);
  });

  test('an attestation manifest (unknown/unknown) is no platform of the image', async () => {
    const attestation = await putAttestationManifest(store, manifest, [
      { predicateType: 'https://slsa.dev/provenance/v1', json: '{}' },
    ]);
    const index = await store.put(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [{ ...manifest, platform: { os: 'linux', architecture: 'amd64' } }, attestation],
      }),
      MediaType.ociIndex,
    );
    expect((await images.platformsOf(index)).map((p) => p.platform)).toEqual(['linux/amd64']);
    expect((await images.details(index)).id).toBe(configDigest);
  });
});
