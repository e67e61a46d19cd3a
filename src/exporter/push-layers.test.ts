import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentStore } from '../store/content-store.js';
import { type Descriptor, type ImageIndex, type ImageManifest, MediaType } from '../image/types.js';
import { manifestForPush } from './push-layers.js';

async function tarOf(name: string, content: string): Promise<Buffer> {
  const p = pack();
  p.entry({ name, mtime: new Date(0) }, content);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('manifestForPush of a multi-platform index', () => {
  let tmp: string;
  let store: ContentStore;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsbuild-push-layers-test-'));
    store = new ContentStore(join(tmp, 'store'));
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const manifestWith = async (layer: Descriptor): Promise<Descriptor> => {
    const config = await store.put('{"architecture":"arm64","os":"linux"}', MediaType.ociConfig);
    const m: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] };
    return store.put(JSON.stringify(m), MediaType.ociManifest);
  };

  it('gzips the uncompressed layers of each platform and makes a new index, platforms and annotations kept', async () => {
    const plain = await store.put(await tarOf('a', 'plain layer'), MediaType.ociLayerTar);
    const gz = await store.put(Buffer.from('already gzip'), MediaType.ociLayerGzip);
    const armManifest = await manifestWith(plain);
    const amdManifest = await manifestWith(gz);
    const index: ImageIndex = {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        { ...amdManifest, platform: { os: 'linux', architecture: 'amd64' } },
        { ...armManifest, platform: { os: 'linux', architecture: 'arm64' } },
      ],
      annotations: { 'org.example': '1' },
    };
    const stored = await store.put(JSON.stringify(index), MediaType.ociIndex);
    const pushed = await manifestForPush(store, stored);
    expect(pushed.digest).not.toBe(stored.digest);
    const out = await store.readJson<ImageIndex>(pushed.digest);
    expect(out.annotations).toEqual({ 'org.example': '1' });
    expect(out.manifests[0]).toEqual(index.manifests[0]);
    expect(out.manifests[1]!.platform).toEqual({ os: 'linux', architecture: 'arm64' });
    const arm = await store.readJson<ImageManifest>(out.manifests[1]!.digest);
    expect(arm.layers[0]!.mediaType).toBe(MediaType.ociLayerGzip);

    // an index whose layers are all compressed is pushed as stored
    const compressed = await store.put(
      JSON.stringify({ ...index, manifests: [index.manifests[0]] }),
      MediaType.ociIndex,
    );
    expect(await manifestForPush(store, compressed)).toBe(compressed);
  });
});
