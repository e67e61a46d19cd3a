import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ContentStore } from '../store/content-store.js';
import type { Descriptor, Digest, ImageIndex } from '../image/types.js';
import { resolveOciLayout } from '../registry/oci-layout.js';
import { addPlatformIndex, makeBusyboxLayout, type LayoutImage } from '../../test/helpers/busybox-layout.js';
import { storeImage } from './local-store.js';

const run = promisify(execFile);
const amd64 = { os: 'linux', architecture: 'amd64' };

describe('storeImage', () => {
  let tmp: string;
  let img: LayoutImage;
  let other: Descriptor;
  let store: ContentStore;
  let manifest: Descriptor;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsbuild-local-store-test-'));
    img = await makeBusyboxLayout(join(tmp, 'layout'));
    const alt = await addPlatformIndex(img.layout, 'latest', 'arm', [{ os: 'linux', architecture: 'arm64' }]);
    store = new ContentStore(join(tmp, 'content'));
    manifest = (await resolveOciLayout(img.layout, 'latest', amd64, store)).manifestDescriptor;
    other = (await resolveOciLayout(img.layout, alt.indexDigest, { os: 'linux', architecture: 'arm64' }, store))
      .manifestDescriptor;
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('tags the image under each normalized name, readable by skopeo from the content dir', async () => {
    await storeImage(store, manifest, ['app:1.0', 'localhost:5000/team/app']);
    expect((await store.resolveTag('app:1.0'))?.digest).toBe(img.manifestDigest);
    expect((await store.resolveTag('localhost:5000/team/app:latest'))?.digest).toBe(img.manifestDigest);
    const index = JSON.parse(await readFile(join(store.root, 'index.json'), 'utf8')) as ImageIndex;
    expect(
      index.manifests.find((d) => d.annotations?.['io.containerd.image.name'] === 'docker.io/library/app:1.0')?.digest,
    ).toBe(img.manifestDigest);

    const { stdout } = await run('skopeo', ['inspect', `oci:${store.root}:app:1.0`]);
    expect((JSON.parse(stdout) as { Digest: string }).Digest).toBe(img.manifestDigest);
  });

  test('tagging a name again moves it to the new image', async () => {
    await storeImage(store, manifest, ['moving']);
    await storeImage(store, other, ['moving']);
    const index = await store.readIndex();
    const entries = index.manifests.filter(
      (d) => d.annotations?.['org.opencontainers.image.ref.name'] === 'moving:latest',
    );
    expect(entries.map((d) => d.digest)).toEqual([other.digest]);
  });

  test('refuses to name an image whose blobs are not all in the store', async () => {
    const missing: Descriptor = { ...manifest, digest: `sha256:${'7'.repeat(64)}` as Digest };
    await expect(storeImage(store, missing, ['ghost'])).rejects.toThrow(/is not in the content store/);
    expect(await store.resolveTag('ghost:latest')).toBeUndefined();
  });
});
