import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MediaType } from '../image/types.js';
import { SnapshotStore } from '../snapshot/snapshot-store.js';
import { CacheRecords } from './cache-records.js';
import { ContentStore } from '../store/content-store.js';
import { diskUsage, prune, type StateParts } from './gc.js';
import { StatePaths } from '../store/state-paths.js';
import { stateOwners } from '../pipeline/state-owners.js';
import { parseReference } from '../registry/reference.js';
import { tagPinPath, writeTagPin } from '../registry/tag-pins.js';
import { HttpDownloads } from '../sources/http-download.js';

const key = (s: string) => createHash('sha256').update(s).digest('hex');
let tmp: string;
let parts: StateParts;

/** A committed snapshot holding `kb` KiB, with a layer blob of its own. */
async function snapshot(id: string, kb: number): Promise<string> {
  await mkdir(join(parts.snapshots.fsDir(id)), { recursive: true });
  await writeFile(join(parts.snapshots.fsDir(id), 'data'), Buffer.alloc(kb * 1024, id));
  const blob = await parts.store.put(`blob of ${id}`, MediaType.ociLayerTar);
  await parts.snapshots.encodings.add(
    id,
    [
      {
        digest: blob.digest,
        diffId: blob.digest,
        size: blob.size,
        mediaType: blob.mediaType,
        compression: 'uncompressed',
      },
    ],
    blob.digest,
  );
  return blob.digest;
}
async function record(name: string, layers: string[], ageMs: number): Promise<string> {
  const k = key(name);
  await parts.records.put({ key: k, layers, createdAt: new Date().toISOString(), description: name });
  const t = new Date(Date.now() - ageMs);
  await utimes(join(parts.paths.cacheRecords, k.slice(0, 2), `${k}.json`), t, t);
  return k;
}

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-gc-'));
  const paths = new StatePaths(tmp);
  const store = new ContentStore(paths.content);
  parts = {
    paths,
    store,
    snapshots: new SnapshotStore(paths.snapshots),
    records: new CacheRecords(paths.cacheRecords),
    // the real owners, as the CLI and the pipeline wire them
    owners: await stateOwners(paths, store),
  };
  await parts.store.init();
  await parts.snapshots.init();
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('prune', () => {
  it('evicts least recently used chains first, base layers last, and never tagged images', async () => {
    await snapshot('lbase', 64);
    await snapshot('sold', 256);
    const newBlob = await snapshot('snew', 256);
    const old = await record('old', ['lbase', 'sold'], 3_600_000);
    const recent = await record('new', ['lbase', 'snew'], 0);
    // a tagged image uses snew's blob
    const config = await parts.store.put('{}', MediaType.ociConfig);
    const manifest = await parts.store.put(
      JSON.stringify({
        schemaVersion: 2,
        config,
        layers: [{ mediaType: MediaType.ociLayerTar, digest: newBlob, size: 1 }],
      }),
      MediaType.ociManifest,
    );
    await parts.store.tag('app:1', manifest);
    const stray = await parts.store.put('stray manifest', MediaType.ociManifest);

    const report = await prune(parts, { keepBytes: 400 * 1024 });
    expect(report.snapshots).toBe(1);
    expect(await parts.snapshots.list()).toEqual(expect.arrayContaining(['lbase', 'snew']));
    expect(await parts.snapshots.exists('sold')).toBe(false);
    expect(await parts.records.get(old)).toBeUndefined();
    expect(await parts.records.get(recent)).toBeDefined();
    expect(await parts.store.has(stray.digest)).toBe(false);

    await prune(parts, { all: true });
    expect(await parts.snapshots.list()).toEqual([]);
    expect(await parts.records.get(recent)).toBeUndefined();
    for (const d of [manifest.digest, config.digest, newBlob]) expect(await parts.store.has(d)).toBe(true);
  });

  it('with until=, removes only what was not used for that long', async () => {
    await snapshot('lbase', 4);
    await snapshot('sa', 4);
    await snapshot('sb', 4);
    await record('a', ['lbase', 'sa'], 2 * 86_400_000);
    await record('b', ['lbase', 'sb'], 1000);
    await prune(parts, { olderThanMs: 86_400_000 });
    expect((await parts.snapshots.list()).sort()).toEqual(['lbase', 'sb']);
  });

  it('without options removes only garbage', async () => {
    await snapshot('sa', 4);
    const k = await record('broken', ['sa', 'sgone'], 0);
    const stray = await parts.store.put('stray', MediaType.ociConfig);
    await prune(parts);
    expect(await parts.snapshots.exists('sa')).toBe(true);
    expect(await parts.records.get(k)).toBeUndefined();
    expect(await parts.store.has(stray.digest)).toBe(false);
  });
});

describe('diskUsage', () => {
  it('reports by kind', async () => {
    await snapshot('lbase', 8);
    await snapshot('sa', 8);
    await record('a', ['lbase', 'sa'], 0);
    const rows = await diskUsage(parts);
    const byKind = Object.fromEntries(rows.map((r) => [r.kind, r]));
    expect(byKind['step layers (snapshots)']!.items).toBe(1);
    expect(byKind['base image layers (snapshots)']!.items).toBe(1);
    expect(byKind['step layers (snapshots)']!.bytes).toBeGreaterThanOrEqual(8 * 1024);
    expect(byKind['cache records']!.items).toBe(1);
    expect(byKind['layer blobs (cache)']!.items).toBe(2);
  });
});

describe('ADD download cache', () => {
  let server: Server;
  let url: string;
  const body = Buffer.alloc(8192, 1);
  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(200, { etag: '"e"' }).end(body));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/file`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const row = async (kind: string) => (await diskUsage(parts)).find((r) => r.kind === kind)!;

  it('du counts the downloads it holds as reclaimable; prune keeps them, prune --all removes them', async () => {
    const got = await new HttpDownloads(parts.paths.httpDownloads, parts.store).fetch(url);
    expect(await parts.store.has(got.digest)).toBe(true);
    expect(await row('ADD downloads (http cache)')).toMatchObject({ items: 1, reclaimable: true });
    expect((await row('ADD downloads (http cache)')).bytes).toBeGreaterThanOrEqual(8192);
    expect(await row('unreferenced blobs')).toMatchObject({ items: 0, bytes: 0 });
    // held: neither garbage nor counted against the cap
    expect(await prune(parts, { keepBytes: 0 })).toMatchObject({ blobs: 0 });
    expect(await parts.store.has(got.digest)).toBe(true);

    const report = await prune(parts, { all: true });
    expect(report.blobs).toBe(1);
    expect(report.bytes).toBeGreaterThanOrEqual(8192);
    expect(await parts.store.has(got.digest)).toBe(false);
    expect(await row('ADD downloads (http cache)')).toMatchObject({ items: 0, bytes: 0 });
  });

  it('prune --all also removes what an older layout left in its directory', async () => {
    const old = join(parts.paths.httpDownloads, 'blobs', 'sha256');
    await mkdir(old, { recursive: true });
    await writeFile(join(old, 'f'.repeat(64)), body);
    expect((await row('ADD downloads (http cache)')).bytes).toBeGreaterThanOrEqual(8192);
    await prune(parts, { all: true });
    expect(await row('ADD downloads (http cache)')).toMatchObject({ items: 0, bytes: 0 });
  });
});

describe('base image tag pins', () => {
  it('keep the manifest and config they name (not the layers), through prune --all', async () => {
    const config = await parts.store.put('{"pinned":1}', MediaType.ociConfig);
    const layer = await parts.store.put('pinned layer', MediaType.ociLayerTar);
    const manifest = await parts.store.put(
      JSON.stringify({ schemaVersion: 2, config, layers: [layer] }),
      MediaType.ociManifest,
    );
    const platform = { os: 'linux', architecture: 'amd64' };
    await writeTagPin(tagPinPath(parts.paths.root, parseReference('base:1'), platform), {
      ref: 'base:1',
      platform,
      digest: manifest.digest,
      resolvedAt: new Date().toISOString(),
    });
    const row = (await diskUsage(parts)).find((r) => r.kind === 'base image manifests and configs');
    expect(row).toMatchObject({ items: 2, reclaimable: false });
    await prune(parts, { all: true });
    expect(await parts.store.has(manifest.digest)).toBe(true);
    expect(await parts.store.has(config.digest)).toBe(true);
    expect(await parts.store.has(layer.digest)).toBe(false);
  });
});

describe('blob notes (registry mount hints, layer encodings)', () => {
  it('prune drops the notes of blobs that left the store, and the old blob-variants dir; --all drops them all', async () => {
    // a blob a snapshot references survives prune; its notes with it
    const kept = { digest: await snapshot('s1', 1) };
    await record('one', ['s1'], 0);
    const gone = (await import('../store/content-store.js')).sha256Digest(Buffer.from('gone blob'));
    await parts.snapshots.encodings.add('s1', [
      { digest: gone, diffId: gone, size: 9, mediaType: MediaType.ociLayerGzip, compression: 'gzip', level: 9 },
    ]);
    const sources = parts.paths.blobSources;
    const variants = parts.paths.blobVariants;
    await mkdir(sources, { recursive: true });
    await mkdir(variants, { recursive: true });
    await writeFile(join(sources, kept.digest.slice(7)), JSON.stringify(['r/a']));
    await writeFile(join(sources, gone.slice(7)), JSON.stringify(['r/a']));
    // what the previous version wrote there: cache, made again from the index when needed
    await writeFile(join(variants, 'x-gzip-9.json'), JSON.stringify({ digest: kept.digest }));
    const row = () =>
      diskUsage(parts).then((rows) => rows.find((r) => r.kind === 'registry mount hints and blob encodings'));
    expect(await row()).toMatchObject({ items: 3, reclaimable: true });
    await prune(parts);
    expect((await readdir(sources)).sort()).toEqual([kept.digest.slice(7)]);
    expect(await readdir(parts.paths.root)).not.toContain('blob-variants');
    expect(parts.snapshots.encodings.of('s1')?.encodings.map((e) => e.digest)).toEqual([kept.digest]);
    await prune(parts, { all: true });
    expect(await row()).toMatchObject({ items: 0 });
  });
});
