/**
 * ADD <http(s) URL>: downloads into the content store (ingest → verify → commit, fsynced: it came
 * from outside), with the URL's ETag and Last-Modified kept in this module's own records
 * (`<StatePaths.httpDownloads>/urls/<sha256 of url>.json` → digest) so a rebuild asks with
 * a HEAD (then a GET) with If-None-Match and reuses the file on a matching ETag, as BuildKit's http
 * source does. The records are what
 * keeps their blobs from GC (heldBlobs), until `prune --all` forgets them.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { writeFileAtomic } from '../store/atomic-write.js';
import { DigestMismatchError, type ContentStore } from '../store/content-store.js';
import { UserError } from '../errors.js';
import { parseDigest, type Digest } from './checksum.js';

export interface Downloaded {
  /** Host path of the downloaded bytes (a content-store blob: read it, never modify it). */
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
  /** `dir` holds the URL records (StatePaths.httpDownloads); the bytes go to `store`. */
  constructor(
    readonly dir: string,
    private readonly store: ContentStore,
  ) {}

  private get recordsDir(): string {
    return join(this.dir, 'urls');
  }

  private recordPath(url: string): string {
    return join(this.recordsDir, `${createHash('sha256').update(url).digest('hex')}.json`);
  }

  private async record(url: string): Promise<UrlRecord | undefined> {
    return readRecord(this.recordPath(url));
  }

  private downloaded(rec: UrlRecord): Downloaded {
    const lastModified = rec.lastModified ? Date.parse(rec.lastModified) : NaN;
    return {
      path: this.store.blobPath(rec.digest),
      digest: rec.digest,
      ...(Number.isNaN(lastModified) ? {} : { lastModified }),
    };
  }

  /**
   * The file behind `url`, fetched unless the cache can answer: with `checksum`, a stored blob
   * of that sha256 needs no request at all; without, a 304 to If-None-Match reuses the last one.
   */
  async fetch(url: string, opts: { checksum?: string; signal?: AbortSignal } = {}): Promise<Downloaded> {
    const want = opts.checksum ? parseDigest(opts.checksum) : undefined;
    const rec = await this.record(url);
    if (want?.algorithm === 'sha256' && (await this.store.has(`sha256:${want.hex}`))) {
      return this.downloaded(rec?.digest === `sha256:${want.hex}` ? rec : { digest: `sha256:${want.hex}` });
    }
    const headers: Record<string, string> = { 'user-agent': 'tsbuild' };
    const init = { redirect: 'follow', ...(opts.signal ? { signal: opts.signal } : {}) } as const;
    if (!want && rec?.etag && (await this.store.has(rec.digest))) {
      headers['if-none-match'] = rec.etag;
      // As BuildKit: a HEAD first, its ETag compared by hand, as some servers that send ETags
      // answer If-None-Match wrongly; a GET (still conditional) only when it does not match.
      const head = await fetch(url, {
        ...init,
        method: 'HEAD',
        headers: { ...headers, 'accept-encoding': 'gzip' },
      }).catch(() => undefined);
      if (head && (head.status === 200 || head.status === 304)) {
        const etag = head.headers.get('etag')?.replace(/^W\//, '') ?? (head.status === 304 ? rec.etag : undefined);
        if (etag === rec.etag) return this.downloaded(rec);
      }
    }
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers });
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

  /**
   * Streams the body into the content store; returns its sha256 digest and the hex of `want`'s
   * algorithm. A sha256 `want` is the store's expected digest, so a mismatch commits nothing.
   */
  private async save(
    body: ReadableStream<Uint8Array>,
    want: Digest | undefined,
  ): Promise<{ digest: string; check: string }> {
    const other = want && want.algorithm !== 'sha256' ? createHash(want.algorithm) : undefined;
    const web = Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
    // hashed on the way through; a generator, not pipe(), so a broken connection fails the ingest
    const source = other
      ? Readable.from(
          (async function* () {
            for await (const chunk of web) {
              other.update(chunk as Buffer);
              yield chunk as Buffer;
            }
          })(),
        )
      : web;
    const expected = want?.algorithm === 'sha256' ? { digest: `sha256:${want.hex}` } : undefined;
    try {
      const { digest } = await this.store.ingest(source, expected, 'download');
      return { digest, check: other ? other.digest('hex') : digest.slice('sha256:'.length) };
    } catch (err) {
      if (err instanceof DigestMismatchError && expected) {
        return { digest: err.actual, check: err.actual.slice('sha256:'.length) };
      }
      throw err;
    }
  }

  private async writeRecord(url: string, rec: UrlRecord): Promise<void> {
    await mkdir(this.recordsDir, { recursive: true });
    await writeFileAtomic(this.recordPath(url), JSON.stringify(rec));
  }

  /** The blobs the URL records name: GC keeps them while the records last. */
  async heldBlobs(): Promise<Set<string>> {
    const out = new Set<string>();
    for (const n of await readdir(this.recordsDir).catch(() => [] as string[])) {
      if (!n.endsWith('.json') || n.startsWith('.')) continue;
      const rec = await readRecord(join(this.recordsDir, n));
      if (rec) out.add(rec.digest);
    }
    return out;
  }

  /** Forgets every URL (prune --all): their blobs become garbage, and a later build asks the server again. */
  async forgetAll(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A URL record; none when absent, unreadable or naming no sha256 blob. */
async function readRecord(path: string): Promise<UrlRecord | undefined> {
  try {
    const rec = JSON.parse(await readFile(path, 'utf8')) as UrlRecord;
    return typeof rec.digest === 'string' && /^sha256:[a-f0-9]{64}$/.test(rec.digest) ? rec : undefined;
  } catch {
    return undefined;
  }
}
