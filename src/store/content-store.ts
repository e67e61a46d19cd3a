import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readdirSync, statSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, Writable, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { syncDir, writeFileAtomic } from './atomic-write.js';
import { ownerToken } from './owner.js';
import { withFileMutex } from './state-lock.js';
import type { Descriptor, Digest, ImageIndex } from '../image/types.js';
import { MediaType } from '../image/types.js';

export class DigestMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly what: string,
  ) {
    super(`${what}: digest mismatch: expected ${expected}, got ${actual}`);
  }
}

export function sha256Digest(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
}

/** Validates `sha256:<64 hex>` so a digest can never name a path outside blobs/. */
export function parseDigest(d: string): { algorithm: 'sha256'; hex: string } {
  const m = /^sha256:([a-f0-9]{64})$/.exec(d);
  if (!m) throw new Error(`unsupported or malformed digest: ${JSON.stringify(d)}`);
  return { algorithm: 'sha256', hex: m[1]! };
}

export interface IngestOptions {
  /**
   * false for a blob made from what the state dir already holds (a layer tar of a snapshot, a
   * re-encoded blob): it is renamed into place without an fsync. Snapshot dirs are never fsynced
   * (docs/design-deviations.md), so syncing a tar of one bought nothing after a power loss, and
   * it cost a flush of the whole layer to disk on every export (~0.3 s for 200 MB here).
   * Downloaded blobs, configs and manifests are still fsynced, and blobs/sha256/ after their rename.
   */
  durable?: boolean;
}

/**
 * The content store: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`).
 * Blobs are immutable and named by their digest; every write goes to a temp file, is verified
 * and renamed, so a killed build never leaves a blob whose content disagrees with its name.
 * Blobs are fsynced before the rename, and their directory after it, unless they are made from
 * what the state dir already holds (see IngestOptions).
 */
export class ContentStore {
  private ready: Promise<void> | undefined;

  constructor(readonly root: string) {}

  get blobsDir(): string {
    return join(this.root, 'blobs', 'sha256');
  }

  /** Blobs being written (named after their writer's owner token, so a killed build's are swept). */
  get ingestDir(): string {
    return join(this.root, 'ingest');
  }

  init(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.blobsDir, { recursive: true });
      await mkdir(this.ingestDir, { recursive: true });
      const layout = join(this.root, 'oci-layout');
      if (!(await exists(layout))) await writeFileAtomic(layout, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
      const index = join(this.root, 'index.json');
      if (!(await exists(index)))
        await writeFileAtomic(
          index,
          JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }),
        );
    })();
    return this.ready;
  }

  blobPath(digest: string): string {
    return join(this.blobsDir, parseDigest(digest).hex);
  }

  async has(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  async size(digest: string): Promise<number> {
    return (await stat(this.blobPath(digest))).size;
  }

  async read(digest: string): Promise<Buffer> {
    return readFile(this.blobPath(digest));
  }

  async readJson<T>(digest: string): Promise<T> {
    return JSON.parse((await this.read(digest)).toString('utf8')) as T;
  }

  openRead(digest: string): Readable {
    // Big reads: layer blobs are hundreds of MB and 64 KiB reads cost more than the copy itself.
    return createReadStream(this.blobPath(digest), { highWaterMark: 4 << 20 });
  }

  /** Stores bytes and returns their descriptor. */
  async put(data: string | Uint8Array, mediaType: string): Promise<Descriptor> {
    await this.init();
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const digest = sha256Digest(bytes);
    const path = this.blobPath(digest);
    if (!(await exists(path))) await writeFileAtomic(path, bytes);
    return { mediaType, digest, size: bytes.length };
  }

  /**
   * Streams a blob in, hashing as it goes. When `expected` is given the blob is only committed if
   * its digest (and size, if given) match; otherwise a DigestMismatchError is thrown and nothing
   * is left behind.
   */
  async ingest(
    source: Readable,
    expected?: { digest?: string; size?: number },
    what = 'blob',
    opts: IngestOptions = {},
  ): Promise<{ digest: Digest; size: number }> {
    await this.init();
    if (expected?.digest && (await this.has(expected.digest))) {
      source.resume();
      source.destroy();
      return { digest: expected.digest as Digest, size: await this.size(expected.digest) };
    }
    const tmp = this.ingestPath();
    const hash = createHash('sha256');
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(source, counter, createWriteStream(tmp));
      return await this.commitIngested(tmp, `sha256:${hash.digest('hex')}` as Digest, size, expected, what, opts);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * `ingest` for a producer that writes: `produce` gets a stream whose write callback for a chunk
   * runs once the chunk is hashed and in the file, so the producer may fill that buffer again
   * (the layer tar writer does: a new 4 MiB chunk per write left ~40 MB of dead buffers waiting
   * for the garbage collector while a large layer was stored). `produce` may end the stream.
   */
  async ingestWritten(
    produce: (out: Writable) => Promise<void>,
    what = 'blob',
    opts: IngestOptions = {},
  ): Promise<{ digest: Digest; size: number }> {
    await this.init();
    const tmp = this.ingestPath();
    const hash = createHash('sha256');
    let size = 0;
    const fh = await open(tmp, 'wx');
    const out = new Writable({
      // two chunks may wait, so the producer fills the next while the file takes the last
      highWaterMark: 8 << 20,
      write(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        writeAll(fh, chunk).then(() => cb(), cb);
      },
    });
    // a failed write reaches the producer through its write or 'drain', and this through finished()
    out.on('error', () => {});
    try {
      try {
        await produce(out);
        if (!out.writableEnded) out.end();
        await finished(out);
      } catch (err) {
        out.destroy(err as Error);
        throw err;
      } finally {
        await fh.close();
      }
      return await this.commitIngested(tmp, `sha256:${hash.digest('hex')}` as Digest, size, undefined, what, opts);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** Named after this process, so a leftover of a killed build can be swept while others ingest. */
  private ingestPath(): string {
    return join(this.ingestDir, `${ownerToken()}-${randomBytes(6).toString('hex')}`);
  }

  /** Checks an ingested temp file against what was expected and renames it into blobs/. */
  private async commitIngested(
    tmp: string,
    digest: Digest,
    size: number,
    expected: { digest?: string; size?: number } | undefined,
    what: string,
    opts: IngestOptions,
  ): Promise<{ digest: Digest; size: number }> {
    if (expected?.digest && expected.digest !== digest) throw new DigestMismatchError(expected.digest, digest, what);
    if (expected?.size !== undefined && expected.size !== size) {
      throw new DigestMismatchError(`${expected.size} bytes`, `${size} bytes`, `${what} size`);
    }
    if (opts.durable !== false) {
      const fh = await open(tmp, 'r');
      await fh.sync();
      await fh.close();
    }
    await rename(tmp, this.blobPath(digest));
    if (opts.durable !== false) await syncDir(this.blobsDir);
    return { digest, size };
  }

  async readIndex(): Promise<ImageIndex> {
    await this.init();
    return JSON.parse(await readFile(join(this.root, 'index.json'), 'utf8')) as ImageIndex;
  }

  /**
   * Points `name` (the `org.opencontainers.image.ref.name` annotation) at a manifest, replacing
   * any earlier manifest of that name. The read-modify-write runs under a file mutex, so two
   * builds tagging at once both land; an unchanged tag is not rewritten (no-op rebuilds write nothing).
   */
  async tag(name: string, manifest: Descriptor): Promise<void> {
    const entry: Descriptor = {
      ...manifest,
      annotations: { ...(manifest.annotations ?? {}), 'org.opencontainers.image.ref.name': name },
    };
    const same = (d: Descriptor | undefined): boolean => JSON.stringify(d) === JSON.stringify(entry);
    if (
      same(
        (await this.readIndex()).manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === name),
      )
    )
      return;
    await withFileMutex(join(this.ingestDir, 'index.lock'), async () => {
      const index = await this.readIndex();
      const kept = index.manifests.filter((d) => d.annotations?.['org.opencontainers.image.ref.name'] !== name);
      kept.push(entry);
      index.manifests = kept;
      await writeFileAtomic(join(this.root, 'index.json'), JSON.stringify(index));
    });
  }

  /**
   * Rewrites index.json's manifest list with `change` (untag, retag, add an unnamed image) under
   * the same file mutex as `tag`. `change` gets the current entries and returns the new ones, or
   * undefined to leave the file as it is.
   */
  async updateIndex(change: (manifests: Descriptor[]) => Descriptor[] | undefined): Promise<void> {
    await this.init();
    await withFileMutex(join(this.ingestDir, 'index.lock'), async () => {
      const index = await this.readIndex();
      const next = change(index.manifests);
      if (!next) return;
      index.manifests = next;
      await writeFileAtomic(join(this.root, 'index.json'), JSON.stringify(index));
    });
  }

  /** Every blob digest in the store (for GC and du). */
  async listBlobs(): Promise<{ digest: Digest; size: number }[]> {
    const out: { digest: Digest; size: number }[] = [];
    for (const hex of await readdir(this.blobsDir).catch(() => [] as string[])) {
      if (!/^[a-f0-9]{64}$/.test(hex)) continue;
      const st = await stat(join(this.blobsDir, hex)).catch(() => undefined);
      if (st) out.push({ digest: `sha256:${hex}` as Digest, size: st.size });
    }
    return out;
  }

  /**
   * The same, synchronously: GC takes its inventory after every build that ran something, with
   * nothing else to do meanwhile, and thousands of small stats cost several times more through
   * the thread pool.
   */
  listBlobsSync(): { digest: Digest; size: number }[] {
    const out: { digest: Digest; size: number }[] = [];
    let names: string[] = [];
    try {
      names = readdirSync(this.blobsDir);
    } catch {
      return out;
    }
    for (const hex of names) {
      if (!/^[a-f0-9]{64}$/.test(hex)) continue;
      const st = statSync(join(this.blobsDir, hex), { throwIfNoEntry: false });
      if (st) out.push({ digest: `sha256:${hex}` as Digest, size: st.size });
    }
    return out;
  }

  async removeBlob(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async resolveTag(name: string): Promise<Descriptor | undefined> {
    const index = await this.readIndex();
    return index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === name);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function writeAll(fh: FileHandle, chunk: Buffer): Promise<void> {
  for (let at = 0; at < chunk.length; ) at += (await fh.write(chunk, at, chunk.length - at)).bytesWritten;
}
