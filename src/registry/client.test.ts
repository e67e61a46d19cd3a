import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ContentStore } from '../store/content-store.js';
import { UserError } from '../errors.js';
import type { Descriptor, Digest } from '../image/types.js';
import { addPlatformIndex, makeBusyboxLayout, type LayoutImage } from '../../test/helpers/busybox-layout.js';
import { freePort, startRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { RegistryClient } from './client.js';
import { parseReference } from './reference.js';

const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64' };

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('RegistryClient against a real registry (docker-registry)', () => {
  let tmp: string;
  let reg: TestRegistry;
  let img: LayoutImage;
  let multi: Awaited<ReturnType<typeof addPlatformIndex>>;
  let store: ContentStore;
  const client = new RegistryClient();

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsbuild-client-test-'));
    img = await makeBusyboxLayout(join(tmp, 'layout'));
    multi = await addPlatformIndex(img.layout, 'latest', 'multi', [amd64, { ...arm64, variant: 'v8' }]);
    reg = await startRegistry();
    await reg.push(img.layout, 'latest', 'test/busybox:latest');
    await reg.push(img.layout, 'multi', 'test/multi:latest', { all: true });
    store = new ContentStore(join(tmp, 'store'));
    await store.init();
  });
  afterAll(async () => {
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('resolves a tag, stores manifest and config, and fetches layers with verified digests', async () => {
    const ref = parseReference(`${reg.host}/test/busybox:latest`);
    const r = await client.resolve(ref, amd64, store);
    expect(r.manifestDescriptor.digest).toBe(img.manifestDigest);
    expect(r.manifestDescriptor.size).toBe(img.manifestSize);
    expect(r.configDescriptor.digest).toBe(img.configDigest);
    expect(r.config.rootfs.diff_ids).toEqual(img.diffIds);
    expect(r.config.config.Cmd).toEqual(['sh']);
    expect(r.indexDescriptor).toBeUndefined();
    expect(r.ref.toString()).toBe(`${reg.host}/test/busybox:latest@${img.manifestDigest}`);
    expect(r.source).toBe(`${reg.host}/test/busybox:latest`);
    expect(await store.has(img.manifestDigest)).toBe(true);
    expect(await store.has(img.configDigest)).toBe(true);
    expect(r.manifest.layers.map((l) => l.digest)).toEqual(img.layerDigests);

    for (const layer of r.manifest.layers) await client.fetchBlob(ref, layer, store);
    for (const [i, digest] of img.layerDigests.entries()) {
      const bytes = await readFile(store.blobPath(digest));
      expect(sha256(bytes)).toBe(digest);
      expect(sha256(gunzipSync(bytes))).toBe(img.diffIds[i]);
    }
  });

  test('concurrent fetches of one blob share a download', async () => {
    const s = new ContentStore(join(tmp, 'store-concurrent'));
    const ref = parseReference(`${reg.host}/test/busybox:latest`);
    const r = await client.resolve(ref, amd64, s);
    const layer = r.manifest.layers[0]!;
    await Promise.all([
      client.fetchBlob(ref, layer, s),
      client.fetchBlob(ref, layer, s),
      client.fetchBlob(ref, layer, s),
    ]);
    expect(await s.has(layer.digest)).toBe(true);
  });

  test('resolves by digest, and a digest already in the store needs no network', async () => {
    const r = await client.resolve(parseReference(`${reg.host}/test/busybox@${img.manifestDigest}`), amd64, store);
    expect(r.manifestDescriptor.digest).toBe(img.manifestDigest);

    const closed = await freePort();
    const offline = await client.resolve(
      parseReference(`127.0.0.1:${closed}/test/busybox@${img.manifestDigest}`),
      amd64,
      store,
    );
    expect(offline.configDescriptor.digest).toBe(img.configDigest);
  });

  test('resolves an index to the requested platform', async () => {
    const ref = parseReference(`${reg.host}/test/multi:latest`);
    const forArm = await client.resolve(ref, arm64, store);
    expect(forArm.config.architecture).toBe('arm64');
    expect(forArm.manifestDescriptor.digest).toBe(multi.manifests[1]!.manifestDigest);
    expect(forArm.manifestDescriptor.platform).toEqual({ ...arm64, variant: 'v8' });
    expect(forArm.indexDescriptor?.digest).toBe(multi.indexDigest);
    expect(forArm.ref.digest).toBe(multi.indexDigest);

    const forAmd = await client.resolve(ref, amd64, store);
    expect(forAmd.config.architecture).toBe('amd64');
    expect(forAmd.configDescriptor.digest).toBe(multi.manifests[0]!.configDigest);
  });

  test('an index without the platform is a clear error listing what it has', async () => {
    const err = await rejection(
      client.resolve(parseReference(`${reg.host}/test/multi:latest`), { os: 'linux', architecture: 's390x' }, store),
    );
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(`${reg.host}/test/multi:latest has no image for platform linux/s390x`);
    expect((err as UserError).hint).toContain('linux/amd64, linux/arm64/v8');
  });

  test('an unknown tag, repository or digest is "image not found"', async () => {
    for (const name of [
      `${reg.host}/test/busybox:nope`,
      `${reg.host}/test/nothing:latest`,
      `${reg.host}/test/busybox@sha256:${'0'.repeat(64)}`,
    ]) {
      const err = await rejection(client.resolve(parseReference(name), amd64, store));
      expect(err).toBeInstanceOf(UserError);
      expect(err.message).toBe(`image not found: ${name}`);
    }
  });

  test('a blob of the wrong size is rejected and not stored', async () => {
    const s = new ContentStore(join(tmp, 'store-size'));
    const ref = parseReference(`${reg.host}/test/busybox:latest`);
    const desc: Descriptor = {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: img.layerDigests[0] as Digest,
      size: 1234,
    };
    const err = await rejection(client.fetchBlob(ref, desc, s));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/mismatch.*expected 1234 bytes/);
    expect(await s.has(desc.digest)).toBe(false);
  });

  test('a blob the registry lacks is named', async () => {
    const ref = parseReference(`${reg.host}/test/busybox:latest`);
    const digest = `sha256:${'1'.repeat(64)}` as Digest;
    const err = await rejection(client.fetchBlob(ref, { mediaType: 'x', digest, size: 1 }, store));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain(`blob ${digest} of ${reg.host}/test/busybox:latest is missing`);
  });

  test('a registry that is not there is named', async () => {
    const port = await freePort();
    const err = await rejection(client.resolve(parseReference(`127.0.0.1:${port}/x/y`), amd64, store));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(
      `cannot reach registry 127.0.0.1:${port} for 127.0.0.1:${port}/x/y:latest: connection refused`,
    );
  });
});
