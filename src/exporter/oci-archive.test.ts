import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { ContentStore } from '../store/content-store.js';
import { UserError } from '../errors.js';
import type { Descriptor, Digest, ImageIndex } from '../image/types.js';
import { resolveOciLayout } from '../registry/oci-layout.js';
import { sharedBusyboxLayout, type LayoutImage } from '../../test/helpers/busybox-layout.js';
import { prepareOciArchive, writeOciArchive } from './oci-archive.js';

const run = promisify(execFile);

interface TarEntryInfo {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  data: Buffer;
}

async function readTar(bytes: Buffer): Promise<TarEntryInfo[]> {
  const out: TarEntryInfo[] = [];
  const ex = extract();
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const h = entry.header;
      out.push({
        name: h.name,
        type: h.type!,
        mode: h.mode!,
        uid: h.uid!,
        gid: h.gid!,
        mtime: h.mtime!.getTime(),
        data: Buffer.concat(chunks),
      });
    }
  })();
  ex.end(bytes);
  await done;
  return out;
}

describe('writeOciArchive', () => {
  let tmp: string;
  let img: LayoutImage;
  let store: ContentStore;
  let manifest: Descriptor;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsbuild-oci-archive-test-'));
    img = await sharedBusyboxLayout();
    store = new ContentStore(join(tmp, 'store'));
    manifest = (await resolveOciLayout(img.layout, 'latest', { os: 'linux', architecture: 'amd64' }, store))
      .manifestDescriptor;
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('writes a sorted, reproducible OCI layout tar with one index entry per name', async () => {
    const dest = join(tmp, 'named.tar');
    await writeOciArchive(store, manifest, ['app:1.0', 'localhost:5000/team/app'], dest);
    const entries = await readTar(await readFile(dest));
    const blobs = [img.manifestDigest, img.configDigest, ...img.layerDigests]
      .map((d) => `blobs/sha256/${d.slice(7)}`)
      .sort();
    expect(entries.map((e) => e.name)).toEqual(['blobs/', 'blobs/sha256/', ...blobs, 'index.json', 'oci-layout']);
    for (const e of entries) {
      expect([e.uid, e.gid, e.mtime]).toEqual([0, 0, 0]);
      expect(e.mode).toBe(e.type === 'directory' ? 0o755 : 0o644);
    }
    const index = JSON.parse(entries.find((e) => e.name === 'index.json')!.data.toString()) as ImageIndex;
    const target = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: img.manifestDigest,
      size: img.manifestSize,
    };
    expect(index).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          ...target,
          annotations: {
            'io.containerd.image.name': 'docker.io/library/app:1.0',
            'org.opencontainers.image.ref.name': '1.0',
          },
        },
        {
          ...target,
          annotations: {
            'io.containerd.image.name': 'localhost:5000/team/app:latest',
            'org.opencontainers.image.ref.name': 'latest',
          },
        },
      ],
    });
    expect(JSON.parse(entries.find((e) => e.name === 'oci-layout')!.data.toString())).toEqual({
      imageLayoutVersion: '1.0.0',
    });

    const again = join(tmp, 'named-again.tar');
    await writeOciArchive(store, manifest, ['app:1.0', 'localhost:5000/team/app'], again);
    expect((await readFile(again)).equals(await readFile(dest))).toBe(true);
  });

  test('skopeo and umoci read the archive back', async () => {
    const dest = join(tmp, 'check.tar');
    await writeOciArchive(store, manifest, ['app:1.0'], dest);

    const { stdout } = await run('skopeo', ['inspect', `oci-archive:${dest}:1.0`]);
    const inspected = JSON.parse(stdout) as { Digest: string; Layers: string[]; Architecture: string };
    expect(inspected.Digest).toBe(img.manifestDigest);
    expect(inspected.Layers).toEqual(img.layerDigests);

    // skopeo copy re-reads every blob and checks its digest
    await run('skopeo', ['copy', '--quiet', `oci-archive:${dest}:1.0`, `oci:${join(tmp, 'copied')}:x`]);

    const untarred = join(tmp, 'untarred');
    await mkdir(untarred);
    await run('tar', ['-xf', dest, '-C', untarred]);
    const bundle = join(tmp, 'bundle');
    await run('umoci', ['unpack', '--image', `${untarred}:1.0`, bundle]);
    expect((await stat(join(bundle, 'rootfs', 'bin', 'busybox'))).isFile()).toBe(true);
  });

  test('an image without names gets one plain index entry', async () => {
    const dest = join(tmp, 'unnamed.tar');
    await writeOciArchive(store, manifest, [], dest);
    const entries = await readTar(await readFile(dest));
    const index = JSON.parse(entries.find((e) => e.name === 'index.json')!.data.toString()) as ImageIndex;
    expect(index.manifests).toEqual([
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: img.manifestDigest, size: img.manifestSize },
    ]);
    const { stdout } = await run('skopeo', ['inspect', `oci-archive:${dest}`]);
    expect((JSON.parse(stdout) as { Digest: string }).Digest).toBe(img.manifestDigest);
  });

  test('reports its bytes against the size it will have, ending with the file’s size', async () => {
    const dest = join(tmp, 'progress.tar');
    const seen: [number, number, boolean][] = [];
    const pending = await prepareOciArchive(store, manifest, ['app:1'], dest, {
      onBytes: (done, total, finished) => seen.push([done, total, finished]),
    });
    await pending.commit();
    const size = (await stat(dest)).size;
    expect(seen[0]).toEqual([0, size, false]);
    expect(seen.at(-1)).toEqual([size, size, true]);
    expect(seen.every(([done, total]) => done <= total && total === size)).toBe(true);
  });

  test('a failed export leaves neither the archive nor a temp file', async () => {
    const dir = join(tmp, 'failing');
    await mkdir(dir);
    const missing: Descriptor = { ...manifest, digest: `sha256:${'9'.repeat(64)}` as Digest };
    await expect(writeOciArchive(store, missing, ['app'], join(dir, 'out.tar'))).rejects.toThrow(
      /is not in the content store/,
    );

    // a store whose layer blob cannot be read after the check: fails mid-stream
    const broken = new ContentStore(join(tmp, 'broken-store'));
    const m = (await resolveOciLayout(img.layout, 'latest', { os: 'linux', architecture: 'amd64' }, broken))
      .manifestDescriptor;
    const realPath = broken.blobPath.bind(broken);
    let calls = 0;
    broken.blobPath = (digest: string) => {
      // the checks (has, size) pass; the read that follows finds a directory
      if (digest === img.layerDigests[0] && ++calls > 2) return tmp;
      return realPath(digest);
    };
    await expect(writeOciArchive(broken, m, ['app'], join(dir, 'out.tar'))).rejects.toThrow(/EISDIR/);
    expect(await readdir(dir)).toEqual([]);

    const err = await writeOciArchive(store, manifest, ['app'], join(tmp, 'no', 'such', 'dir.tar')).catch(
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/^cannot write the OCI archive .*dir\.tar/);
  });

  test('invalid names are user errors naming the name', async () => {
    await expect(writeOciArchive(store, manifest, ['App'], join(tmp, 'x.tar'))).rejects.toThrow(/"App".*lowercase/);
    await expect(
      writeOciArchive(store, manifest, [`app@sha256:${'a'.repeat(64)}`], join(tmp, 'x.tar')),
    ).rejects.toThrow(/cannot contain a digest/);
  });

  test('dest - writes to stdout, refusing a terminal', async () => {
    const chunks: Buffer[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: Uint8Array) => {
      chunks.push(Buffer.from(chunk));
      return true;
    }) as typeof process.stdout.write);
    const wasTTY = process.stdout.isTTY;
    try {
      process.stdout.isTTY = false;
      await writeOciArchive(store, manifest, ['app'], '-');
      process.stdout.isTTY = true;
      await expect(writeOciArchive(store, manifest, ['app'], '-')).rejects.toThrow(
        /refusing to write the OCI archive to a terminal/,
      );
    } finally {
      process.stdout.isTTY = wasTTY;
      write.mockRestore();
    }
    const entries = await readTar(Buffer.concat(chunks));
    expect(entries.map((e) => e.name)).toContain('index.json');
  });
});
