import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ContentStore } from '../store/content-store.js';
import { UserError } from '../errors.js';
import { addPlatformIndex, makeBusyboxLayout, type LayoutImage } from '../../test/helpers/busybox-layout.js';
import { parseOciLayoutRef, resolveOciLayout } from './oci-layout.js';

const amd64 = { os: 'linux', architecture: 'amd64' };
const D = `sha256:${'b'.repeat(64)}`;

describe('parseOciLayoutRef', () => {
  test.each([
    ['oci-layout://./base', { dir: './base' }],
    ['oci-layout://./base:v1', { dir: './base', tag: 'v1' }],
    ['oci-layout:///abs/dir:latest', { dir: '/abs/dir', tag: 'latest' }],
    [`oci-layout:///abs/dir@${D}`, { dir: '/abs/dir', tag: D }],
    ['oci-layout:///odd:name/dir', { dir: '/odd:name/dir' }],
    ['/plain/dir:1.0', { dir: '/plain/dir', tag: '1.0' }],
  ])('%s', (input, expected) => {
    expect(parseOciLayoutRef(input)).toEqual(expected);
  });
});

describe('resolveOciLayout', () => {
  let tmp: string;
  let img: LayoutImage;
  let multi: Awaited<ReturnType<typeof addPlatformIndex>>;
  let n = 0;
  const freshStore = () => new ContentStore(join(tmp, `store-${n++}`));

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsbuild-oci-layout-test-'));
    img = await makeBusyboxLayout(join(tmp, 'layout'));
    multi = await addPlatformIndex(img.layout, 'latest', 'multi', [
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
      amd64,
    ]);
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('resolves the latest tag and copies every blob into the store', async () => {
    const store = freshStore();
    const r = await resolveOciLayout(img.layout, undefined, amd64, store);
    expect(r.source).toBe(`oci-layout://${img.layout}`);
    expect(r.manifestDescriptor).toEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: img.manifestDigest,
      size: img.manifestSize,
    });
    expect(r.configDescriptor.digest).toBe(img.configDigest);
    expect(r.config.rootfs.diff_ids).toEqual(img.diffIds);
    for (const d of [img.manifestDigest, img.configDigest, ...img.layerDigests]) expect(await store.has(d)).toBe(true);
  });

  test('files of the layout that are symlinks resolve inside the layout dir, never to a host file', async () => {
    // a copy whose index.json and config blob are links to the real ones outside it (as a host file would be)
    const linked = join(tmp, 'linked');
    await cp(img.layout, linked, { recursive: true });
    const configBlob = join('blobs', 'sha256', img.configDigest.slice('sha256:'.length));
    for (const f of ['index.json', configBlob]) {
      await rm(join(linked, f));
      await symlink(join(img.layout, f), join(linked, f));
    }
    const err = await resolveOciLayout(linked, undefined, amd64, freshStore()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(/no readable index\.json/);
    await rm(join(linked, 'index.json'));
    await cp(join(img.layout, 'index.json'), join(linked, 'index.json'));
    await expect(resolveOciLayout(linked, undefined, amd64, freshStore())).rejects.toThrow(
      /the layout is missing blob/,
    );
  });

  test('resolves a tagged index to the platform', async () => {
    const r = await resolveOciLayout(img.layout, 'multi', { os: 'linux', architecture: 'arm64' }, freshStore());
    expect(r.config.architecture).toBe('arm64');
    expect(r.manifestDescriptor.digest).toBe(multi.manifests[0]!.manifestDigest);
    expect(r.indexDescriptor?.digest).toBe(multi.indexDigest);
    const amd = await resolveOciLayout(img.layout, 'multi', amd64, freshStore());
    expect(amd.configDescriptor.digest).toBe(multi.manifests[1]!.configDigest);
  });

  test('resolves by digest', async () => {
    const r = await resolveOciLayout(img.layout, img.manifestDigest, amd64, freshStore());
    expect(r.configDescriptor.digest).toBe(img.configDigest);
    const fromIndex = await resolveOciLayout(img.layout, multi.indexDigest, amd64, freshStore());
    expect(fromIndex.manifestDescriptor.digest).toBe(multi.manifests[1]!.manifestDigest);
  });

  test('a layout with one untagged image is used without a tag', async () => {
    const dir = join(tmp, 'untagged');
    await cp(img.layout, dir, { recursive: true });
    await writeFile(
      join(dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: img.manifestDigest,
            size: img.manifestSize,
          },
        ],
      }),
    );
    const r = await resolveOciLayout(dir, undefined, amd64, freshStore());
    expect(r.manifestDescriptor.digest).toBe(img.manifestDigest);
    const err = await resolveOciLayout(dir, 'v1', amd64, freshStore()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`oci-layout://${dir}:v1: the layout has no image tagged "v1"`);
  });

  test('an unknown tag names the tags there are', async () => {
    const err = await resolveOciLayout(img.layout, 'nope', amd64, freshStore()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`oci-layout://${img.layout}:nope: the layout has no image tagged "nope"`);
    expect((err as UserError).hint).toBe('its tags are: latest, multi');
  });

  test('a platform the index lacks', async () => {
    const err = await resolveOciLayout(
      img.layout,
      'multi',
      { os: 'linux', architecture: 'riscv64' },
      freshStore(),
    ).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`oci-layout://${img.layout}:multi has no image for platform linux/riscv64`);
  });

  test('a directory that is not a layout', async () => {
    const err = await resolveOciLayout(tmp, undefined, amd64, freshStore()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/is not an OCI image layout \(no oci-layout file\)/);
  });

  test('a corrupted layer blob is a digest mismatch and is not stored', async () => {
    const dir = join(tmp, 'corrupt');
    await cp(img.layout, dir, { recursive: true });
    const path = join(dir, 'blobs', 'sha256', img.layerDigests[0]!.slice('sha256:'.length));
    const bytes = await readFile(path);
    bytes[100] ^= 0xff;
    await writeFile(path, bytes);
    const store = freshStore();
    const err = await resolveOciLayout(dir, 'latest', amd64, store).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^oci-layout://${dir}:latest: layer 1: digest mismatch: blob ${img.layerDigests[0]} in the layout has digest sha256:[a-f0-9]{64}$`,
      ),
    );
    expect(await store.has(img.layerDigests[0]!)).toBe(false);
  });

  test('a missing blob is named', async () => {
    const dir = join(tmp, 'missing');
    await cp(img.layout, dir, { recursive: true });
    await rm(join(dir, 'blobs', 'sha256', img.configDigest.slice('sha256:'.length)));
    const err = await resolveOciLayout(dir, undefined, amd64, freshStore()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`oci-layout://${dir}: config: the layout is missing blob ${img.configDigest}`);
  });
});
