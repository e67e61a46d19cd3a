/**
 * ADD <http(s) URL>: downloads into a content-addressed cache (`blobs/sha256/<hex>`), with the
 * URL's ETag and Last-Modified kept beside it (`urls/<sha256 of url>.json`) so a rebuild asks
 * with If-None-Match and reuses the file on 304, as BuildKit's http source does. Every file is
 * written to a temp name and renamed, so a killed build leaves no half file under a digest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '../store/atomic-write.js';
import { UserError } from '../errors.js';
import { parseDigest, type Digest } from './checksum.js';

export interface Downloaded {
  /** Host path of the downloaded bytes (inside the cache: read it, never modify it). */
  path: string;
  /** `sha256:<hex>` of the content. */
  digest: string;
  /** From Last-Modified, ms since the epoch; undefined when the server sent none. */
  lastModified?: number;
}

interface UrlRecord {
  digest: string;
  etag?: string;
  lastModified?: string;
}

/** The name BuildKit gives the file: the URL path's last component, else `__unnamed__`. */
export function urlFileName(url: string): string {
  let path: string;
  try {
    path = decodeURIComponent(new URL(url).pathname);
  } catch {
    return '__unnamed__';
  }
  const base = posix.basename(path);
  return base === '' || base === '.' || base === '..' || base === '/' ? '__unnamed__' : base;
}

/** Credentials never appear in messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = 'xxxxx';
      u.password = 'xxxxx';
    }
    return u.toString();
  } catch {
    return url;
  }
}

export class HttpDownloads {
  constructor(readonly dir: string) {}

  private blobPath(hex: string): string {
    return join(this.dir, 'blobs', 'sha256', hex);
  }

  private recordPath(url: string): string {
    return join(this.dir, 'urls', `${createHash('sha256').update(url).digest('hex')}.json`);
  }

  private async record(url: string): Promise<UrlRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.recordPath(url), 'utf8')) as UrlRecord;
    } catch {
      return undefined;
    }
  }

  private async has(digest: string): Promise<boolean> {
    return stat(this.blobPath(digest.replace(/^sha256:/, ''))).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  private downloaded(rec: UrlRecord): Downloaded {
    const lastModified = rec.lastModified ? Date.parse(rec.lastModified) : NaN;
    return {
      path: this.blobPath(rec.digest.replace(/^sha256:/, '')),
      digest: rec.digest,
      ...(Number.isNaN(lastModified) ? {} : { lastModified }),
    };
  }

  /**
   * The file behind `url`, fetched unless the cache can answer: with `checksum`, a cached blob
   * of that sha256 needs no request at all; without, a 304 to If-None-Match reuses the last one.
   */
  async fetch(url: string, opts: { checksum?: string; signal?: AbortSignal } = {}): Promise<Downloaded> {
    const want = opts.checksum ? parseDigest(opts.checksum) : undefined;
    const rec = await this.record(url);
    if (want?.algorithm === 'sha256' && (await this.has(`sha256:${want.hex}`))) {
      return this.downloaded(rec?.digest === `sha256:${want.hex}` ? rec : { digest: `sha256:${want.hex}` });
    }
    const headers: Record<string, string> = { 'user-agent': 'tsbuild' };
    if (!want && rec?.etag && (await this.has(rec.digest))) headers['if-none-match'] = rec.etag;
    let res: Response;
    try {
      res = await fetch(url, { headers, redirect: 'follow', ...(opts.signal ? { signal: opts.signal } : {}) });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const cause = (err as { cause?: { message?: string; code?: string } }).cause;
      throw new UserError(`cannot fetch ${redactUrl(url)}: ${cause?.message ?? (err as Error).message}`, {
        hint: 'check the URL and that the server is reachable from this machine (ADD downloads from the host, not from a container)',
      });
    }
    if (res.status === 304 && rec) {
      await res.body?.cancel();
      return this.downloaded(rec);
    }
    if (res.status < 200 || res.status >= 400 || !res.body) {
      await res.body?.cancel();
      throw new UserError(
        `cannot fetch ${redactUrl(url)}: the server answered ${res.status} ${res.statusText}`.trimEnd(),
        {
          hint: 'check the URL; ADD fails on any error status, as docker build does',
        },
      );
    }
    const got = await this.save(res.body, want);
    if (want && got.check !== want.hex) {
      throw new UserError(
        `checksum mismatch for ${redactUrl(url)}: expected ${want.algorithm}:${want.hex}, got ${want.algorithm}:${got.check}`,
        {
          hint: 'the file at this URL changed, or --checksum is wrong; update --checksum only after checking the new file',
        },
      );
    }
    const next: UrlRecord = { digest: got.digest };
    const etag = res.headers.get('etag');
    const lastModified = res.headers.get('last-modified');
    if (etag) next.etag = etag.replace(/^W\//, '');
    if (lastModified) next.lastModified = lastModified;
    await this.writeRecord(url, next);
    return this.downloaded(next);
  }

  /** Streams the body into the cache; returns its sha256 digest and the hex of `want`'s algorithm. */
  private async save(
    body: ReadableStream<Uint8Array>,
    want: Digest | undefined,
  ): Promise<{ digest: string; check: string }> {
    const tmpDir = join(this.dir, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `dl-${randomBytes(8).toString('hex')}`);
    const sha256 = createHash('sha256');
    const other = want && want.algorithm !== 'sha256' ? createHash(want.algorithm) : undefined;
    try {
      const hashing = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          sha256.update(chunk);
          other?.update(chunk);
          cb(null, chunk);
        },
      });
      await pipeline(
        Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>),
        hashing,
        createWriteStream(tmp, { mode: 0o600 }),
      );
      const hex = sha256.digest('hex');
      await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
      await rename(tmp, this.blobPath(hex));
      return { digest: `sha256:${hex}`, check: other ? other.digest('hex') : hex };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private async writeRecord(url: string, rec: UrlRecord): Promise<void> {
    await mkdir(join(this.dir, 'urls'), { recursive: true });
    await writeFileAtomic(this.recordPath(url), JSON.stringify(rec));
  }
}
