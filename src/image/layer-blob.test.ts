import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ContentStore } from '../store/content-store.js';
import { createLayerBlob, type BlobSink, type TarWriter } from './layer-blob.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function memorySink(): BlobSink & { bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  return {
    bytes: () => Buffer.concat(chunks),
    async ingest(source: Readable) {
      for await (const c of source) chunks.push(c as Buffer);
      const all = Buffer.concat(chunks);
      return { digest: sha(all), size: all.length };
    },
  };
}

const tar = Buffer.concat([Buffer.from('x'.repeat(3 * 1024 * 1024)), Buffer.alloc(1024)]);

async function writeInPieces(out: NodeJS.WritableStream): Promise<void> {
  for (let i = 0; i < tar.length; i += 100_000) {
    if (!out.write(tar.subarray(i, i + 100_000))) await new Promise((r) => out.once('drain', r));
  }
  out.end();
}

describe('createLayerBlob', () => {
  it('hashes the tar (diffID) and the gzip (digest) in one pass', async () => {
    const sink = memorySink();
    const blob = await createLayerBlob(writeInPieces, sink);
    const gz = sink.bytes();
    expect(blob.diffId).toBe(sha(tar));
    expect(blob.digest).toBe(sha(gz));
    expect(blob.size).toBe(gz.length);
    expect(blob.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(gunzipSync(gz).equals(tar)).toBe(true);
    // magic, deflate, no flags (so no file name), mtime 0: the same tar always gives the same blob
    expect([...gz.subarray(0, 8)]).toEqual([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0]);
    const again = memorySink();
    expect((await createLayerBlob(writeInPieces, again)).digest).toBe(blob.digest);
  });

  it('stores into a ContentStore', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-blob-test-'));
    try {
      const store = new ContentStore(root);
      const blob = await createLayerBlob(writeInPieces, store);
      expect(await store.has(blob.digest)).toBe(true);
      expect(gunzipSync(await store.read(blob.digest)).equals(tar)).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('stores a plain tar through ingestWritten, hashed once, and tells the writer it may refill its chunks', async () => {
    /** A tar writer that notes what it is told of the chunks it writes. */
    const noting =
      (told: (boolean | undefined)[]): TarWriter =>
      (out, reusable) => {
        told.push(reusable);
        return writeInPieces(out);
      };
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-blob-test-'));
    try {
      const store = new ContentStore(root);
      const told: (boolean | undefined)[] = [];
      const blob = await createLayerBlob(noting(told), store, { compression: 'uncompressed' });
      expect(told).toEqual([true]);
      expect(blob).toEqual({
        digest: sha(tar),
        diffId: sha(tar),
        size: tar.length,
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
      });
      expect((await store.read(blob.digest)).equals(tar)).toBe(true);
      // a sink without it gets the tar through ingest, and the writer is not told so
      told.length = 0;
      const sink = memorySink();
      const viaIngest = await createLayerBlob(noting(told), sink, { compression: 'uncompressed' });
      expect(told).toEqual([undefined]);
      expect(viaIngest.digest).toBe(blob.digest);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('fails (without hanging) when either side fails', async () => {
    await expect(
      createLayerBlob(async (out) => {
        out.write(tar.subarray(0, 1000));
        throw new Error('walk failed');
      }, memorySink()),
    ).rejects.toThrow(/walk failed/);
    const failingSink: BlobSink = {
      async ingest(source: Readable) {
        source.destroy();
        throw new Error('disk full');
      },
    };
    await expect(createLayerBlob(writeInPieces, failingSink)).rejects.toThrow();
    // A sink that stops reading without an error must not leave the tar writer waiting forever.
    const quitter: BlobSink = {
      async ingest(source: Readable) {
        source.destroy();
        return { digest: 'sha256:0', size: 0 };
      },
    };
    await expect(createLayerBlob(writeInPieces, quitter)).rejects.toThrow();
  });
});
