import { createHash } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Descriptor, Digest, ImageIndex } from '../image/types.js';
import { ContentStore, DigestMismatchError, parseDigest, sha256Digest } from './content-store.js';

const hex = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

let tmp: string;
let store: ContentStore;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-content-store-test-'));
  store = new ContentStore(join(tmp, 'content'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('digests', () => {
  it('sha256Digest prefixes the algorithm', () => {
    expect(sha256Digest('abc')).toBe(`sha256:${hex('abc')}`);
    expect(sha256Digest(Buffer.from('abc'))).toBe(sha256Digest('abc'));
  });

  it('parseDigest accepts only sha256:<64 lowercase hex>', () => {
    const d = sha256Digest('x');
    expect(parseDigest(d)).toEqual({ algorithm: 'sha256', hex: d.slice(7) });
    for (const bad of [
      'sha256:abc',
      `sha512:${'a'.repeat(64)}`,
      `sha256:${'A'.repeat(64)}`,
      `sha256:${'a'.repeat(64)}/../x`,
      `sha256:../../${'a'.repeat(58)}`,
      '',
    ]) {
      expect(() => parseDigest(bad), bad).toThrow(/malformed digest/);
    }
  });
});

describe('ContentStore', () => {
  it('init writes a valid OCI layout', async () => {
    await store.init();
    expect(JSON.parse(await readFile(join(store.root, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(await readFile(join(store.root, 'index.json'), 'utf8')) as ImageIndex;
    expect(index).toEqual({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
    expect(await readdir(join(store.root, 'blobs'))).toEqual(['sha256']);
  });

  it('init does not overwrite an existing index', async () => {
    await store.init();
    const d: Descriptor = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256Digest('m'),
      size: 1,
    };
    await store.tag('a:1', d);
    const again = new ContentStore(store.root);
    await again.init();
    expect((await again.resolveTag('a:1'))?.digest).toBe(d.digest);
  });

  it('put stores bytes under their digest; has/read/size/readJson find them', async () => {
    const desc = await store.put('{"a":1}', 'application/json');
    expect(desc).toEqual({ mediaType: 'application/json', digest: `sha256:${hex('{"a":1}')}`, size: 7 });
    expect(await store.has(desc.digest)).toBe(true);
    expect((await store.read(desc.digest)).toString()).toBe('{"a":1}');
    expect(await store.size(desc.digest)).toBe(7);
    expect(await store.readJson(desc.digest)).toEqual({ a: 1 });
    expect(await readFile(join(store.blobsDir, hex('{"a":1}')), 'utf8')).toBe('{"a":1}');
    expect(store.blobPath(desc.digest)).toBe(join(store.root, 'blobs', 'sha256', hex('{"a":1}')));
  });

  it('put of the same bytes twice is one blob and leaves no temp files', async () => {
    const bytes = Buffer.from([0, 1, 2, 255]);
    const a = await store.put(bytes, 'x');
    const b = await store.put(bytes, 'y');
    expect(a.digest).toBe(b.digest);
    expect(b.mediaType).toBe('y');
    expect(await readdir(store.blobsDir)).toEqual([a.digest.slice(7)]);
  });

  it('has is false for an absent blob and refuses a malformed digest', async () => {
    await store.init();
    expect(await store.has(sha256Digest('absent'))).toBe(false);
    await expect(store.has('sha256:../../etc/passwd')).rejects.toThrow(/malformed digest/);
  });

  it('openRead streams a blob', async () => {
    const desc = await store.put('stream me', 'text/plain');
    const chunks: Buffer[] = [];
    for await (const c of store.openRead(desc.digest)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('stream me');
  });

  describe('ingestWritten', () => {
    it('stores what the producer writes; a write is called back once its bytes are in the file', async () => {
      const data = Buffer.alloc(300_000, 9);
      const r = await store.ingestWritten(async (out) => {
        const chunk = Buffer.alloc(100_000);
        for (let i = 0; i < 3; i++) {
          data.copy(chunk, 0, i * 100_000, (i + 1) * 100_000);
          // the producer fills the same buffer again as soon as the write is called back
          await new Promise<void>((resolve, reject) => out.write(chunk, (err) => (err ? reject(err) : resolve())));
          const [tmpName] = await readdir(join(store.root, 'ingest'));
          expect((await stat(join(store.root, 'ingest', tmpName!))).size).toBe((i + 1) * 100_000);
        }
      });
      expect(r).toEqual({ digest: `sha256:${hex(data)}`, size: 300_000 });
      expect((await store.read(r.digest)).equals(data)).toBe(true);
      expect(await readdir(join(store.root, 'ingest'))).toEqual([]);
    });

    it('leaves nothing behind when the producer fails or destroys the stream', async () => {
      await expect(
        store.ingestWritten(async (out) => {
          out.write(Buffer.from('partial'));
          throw new Error('producer broke');
        }),
      ).rejects.toThrow('producer broke');
      await expect(
        store.ingestWritten(async (out) => {
          out.write(Buffer.from('partial'));
          out.destroy(new Error('cancelled'));
          await new Promise((resolve) => out.once('close', resolve));
        }),
      ).rejects.toThrow('cancelled');
      expect(await readdir(join(store.root, 'ingest'))).toEqual([]);
      expect(await readdir(store.blobsDir)).toEqual([]);
    });
  });

  describe('ingest', () => {
    it('streams a blob in and names it by its digest', async () => {
      const data = Buffer.alloc(300_000, 7);
      const r = await store.ingest(Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]));
      expect(r).toEqual({ digest: `sha256:${hex(data)}`, size: 300_000 });
      expect((await store.read(r.digest)).equals(data)).toBe(true);
      expect(await readdir(join(store.root, 'ingest'))).toEqual([]);
    });

    it('fsyncs a blob before naming it, unless it is made from what the state dir holds', async () => {
      await store.init(); // its oci-layout and index.json are fsynced too
      const probe = await open(join(tmp, 'probe'), 'w');
      const sync = vi.spyOn(Object.getPrototypeOf(probe) as { sync(): Promise<void> }, 'sync');
      await probe.close();
      try {
        const pulled = await store.ingest(Readable.from([Buffer.from('downloaded')]));
        // the blob, then blobs/sha256/ after the rename (atomic-write.test.ts checks the order)
        expect(sync).toHaveBeenCalledTimes(2);
        const derived = await store.ingest(Readable.from([Buffer.from('a layer tar')]), undefined, 'layer tar', {
          durable: false,
        });
        expect(sync).toHaveBeenCalledTimes(2);
        expect((await store.read(derived.digest)).toString()).toBe('a layer tar');
        expect(await store.has(pulled.digest)).toBe(true);
      } finally {
        sync.mockRestore();
      }
    });

    it('commits when the expected digest and size match', async () => {
      const d = sha256Digest('payload');
      const r = await store.ingest(Readable.from([Buffer.from('payload')]), { digest: d, size: 7 });
      expect(r).toEqual({ digest: d, size: 7 });
      expect(await store.has(d)).toBe(true);
    });

    it('a digest mismatch throws and leaves nothing behind', async () => {
      const expected = sha256Digest('what we wanted');
      const err = await rejection(
        store.ingest(Readable.from([Buffer.from('what we got')]), { digest: expected }, 'layer 3'),
      );
      expect(err).toBeInstanceOf(DigestMismatchError);
      const e = err as DigestMismatchError;
      expect(e.expected).toBe(expected);
      expect(e.actual).toBe(sha256Digest('what we got'));
      expect(e.message).toBe(`layer 3: digest mismatch: expected ${expected}, got ${sha256Digest('what we got')}`);
      expect(await store.has(expected)).toBe(false);
      expect(await store.has(sha256Digest('what we got'))).toBe(false);
      expect(await readdir(store.blobsDir)).toEqual([]);
      expect(await readdir(join(store.root, 'ingest'))).toEqual([]);
    });

    it('a size mismatch throws and leaves nothing behind', async () => {
      const d = sha256Digest('abc');
      const err = await rejection(store.ingest(Readable.from([Buffer.from('abc')]), { digest: d, size: 4 }));
      expect(err).toBeInstanceOf(DigestMismatchError);
      expect((err as Error).message).toMatch(/size: digest mismatch: expected 4 bytes, got 3 bytes/);
      expect(await store.has(d)).toBe(false);
      expect(await readdir(join(store.root, 'ingest'))).toEqual([]);
    });

    it('a failing source rejects and leaves no temp file', async () => {
      const source = new Readable({
        read() {
          this.push(Buffer.from('partial'));
          this.destroy(new Error('connection reset'));
        },
      });
      await expect(store.ingest(source)).rejects.toThrow(/connection reset/);
      expect(await readdir(join(store.root, 'ingest'))).toEqual([]);
      expect(await readdir(store.blobsDir)).toEqual([]);
    });

    it('an expected blob already present is not read again', async () => {
      const desc = await store.put('present', 'x');
      let read = false;
      const source = new Readable({
        read() {
          read = true;
          this.push(null);
        },
      });
      const r = await store.ingest(source, { digest: desc.digest });
      expect(r).toEqual({ digest: desc.digest, size: 7 });
      expect(read).toBe(false);
      expect(source.destroyed).toBe(true);
    });
  });

  describe('tags', () => {
    const m1: Descriptor = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256Digest('m1'),
      size: 10,
      annotations: { keep: 'me' },
    };
    const m2: Descriptor = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256Digest('m2'),
      size: 20,
    };

    it('resolveTag is undefined for an unknown name', async () => {
      expect(await store.resolveTag('nope')).toBeUndefined();
    });

    it('tag adds the ref.name annotation, keeping the others', async () => {
      await store.tag('app:1', m1);
      const got = await store.resolveTag('app:1');
      expect(got).toEqual({ ...m1, annotations: { keep: 'me', 'org.opencontainers.image.ref.name': 'app:1' } });
      // the caller's descriptor is not mutated
      expect(m1.annotations).toEqual({ keep: 'me' });
    });

    it('tagging a name again replaces its entry; other names are kept', async () => {
      await store.tag('app:1', m1);
      await store.tag('app:2', m1);
      await store.tag('app:1', m2);
      expect((await store.resolveTag('app:1'))?.digest).toBe(m2.digest);
      expect((await store.resolveTag('app:2'))?.digest).toBe(m1.digest);
      const index = await store.readIndex();
      expect(
        index.manifests.map((d) => [d.annotations?.['org.opencontainers.image.ref.name'], d.digest as Digest]),
      ).toEqual([
        ['app:2', m1.digest],
        ['app:1', m2.digest],
      ]);
      const files = await readdir(store.root);
      expect(files.filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    });
  });
});
