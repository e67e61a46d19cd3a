import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpDownloads, redactUrl, urlFileName } from './http-download.js';
import { ContentStore } from '../store/content-store.js';
import { userErrorOf } from '../../test/helpers/user-error.js';

const BODY = 'hello from the test server\n';
const SHA = `sha256:${createHash('sha256').update(BODY).digest('hex')}`;
const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT';

let server: Server;
let base: string;
let requests: { url: string; method?: string; headers: IncomingHttpHeaders }[] = [];
let deafEtagBody = 'v1 body';

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', method: req.method ?? '', headers: req.headers });
    if (req.url === '/deaf-etag') {
      // sends an ETag but never answers If-None-Match with a 304
      const etag = deafEtagBody === 'v1 body' ? '"d1"' : '"d2"';
      res.writeHead(200, { etag }).end(req.method === 'HEAD' ? undefined : deafEtagBody);
      return;
    }
    if (req.url === '/file.txt') {
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304, { etag: '"v1"' }).end();
        return;
      }
      res.writeHead(200, { etag: '"v1"', 'last-modified': LAST_MODIFIED }).end(BODY);
    } else if (req.url === '/redirect') res.writeHead(302, { location: '/file.txt' }).end();
    else res.writeHead(404).end('nope');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

let dir: string;
let store: ContentStore;
const downloads = () => new HttpDownloads(join(dir, 'http'), store);
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-http-test-'));
  store = new ContentStore(join(dir, 'content'));
  requests = [];
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('urlFileName / redactUrl', () => {
  it('names the file after the URL path, as BuildKit', () => {
    expect(urlFileName('https://h/dl/tool-1.2.tar.gz?sig=x#f')).toBe('tool-1.2.tar.gz');
    expect(urlFileName('https://h/dir/')).toBe('dir');
    expect(urlFileName('https://h/')).toBe('__unnamed__');
    expect(urlFileName('https://h')).toBe('__unnamed__');
    expect(urlFileName('https://h/a%20b')).toBe('a b');
  });

  it('hides credentials', () => {
    expect(redactUrl('https://user:secret@h/x')).toBe('https://xxxxx:xxxxx@h/x');
  });
});

describe('HttpDownloads', () => {
  it('downloads, hashes and remembers Last-Modified; a second fetch is answered by a 304', async () => {
    const dl = downloads();
    const first = await dl.fetch(`${base}/file.txt`);
    expect(first.digest).toBe(SHA);
    expect(first.lastModified).toBe(Date.parse(LAST_MODIFIED));
    expect(await readFile(first.path, 'utf8')).toBe(BODY);
    const again = await dl.fetch(`${base}/file.txt`);
    expect(again).toEqual(first);
    expect(requests.map((r) => r.headers['if-none-match'])).toEqual([undefined, '"v1"']);
    expect(requests.map((r) => r.method)).toEqual(['GET', 'HEAD']);
  });

  it('a rebuild asks with a HEAD and compares the ETag itself (servers that ignore If-None-Match); a new ETag is fetched', async () => {
    const dl = downloads();
    deafEtagBody = 'v1 body';
    const first = await dl.fetch(`${base}/deaf-etag`);
    expect(await dl.fetch(`${base}/deaf-etag`)).toEqual(first);
    expect(requests.map((r) => r.method)).toEqual(['GET', 'HEAD']);
    deafEtagBody = 'v2 body';
    requests = [];
    const next = await dl.fetch(`${base}/deaf-etag`);
    expect(await readFile(next.path, 'utf8')).toBe('v2 body');
    expect(requests.map((r) => `${r.method} ${r.headers['if-none-match']}`)).toEqual(['HEAD "d1"', 'GET "d1"']);
  });

  it('follows redirects', async () => {
    expect((await downloads().fetch(`${base}/redirect`)).digest).toBe(SHA);
  });

  it('verifies --checksum, and a cached blob of that digest needs no request at all', async () => {
    const dl = downloads();
    await dl.fetch(`${base}/file.txt`, { checksum: SHA });
    requests = [];
    const cached = await dl.fetch(`${base}/file.txt`, { checksum: SHA });
    expect(cached.digest).toBe(SHA);
    expect(cached.lastModified).toBe(Date.parse(LAST_MODIFIED));
    expect(requests).toEqual([]);
  });

  it('verifies sha512 checksums too', async () => {
    const sha512 = `sha512:${createHash('sha512').update(BODY).digest('hex')}`;
    expect((await downloads().fetch(`${base}/file.txt`, { checksum: sha512 })).digest).toBe(SHA);
  });

  it('a checksum mismatch is a UserError naming both digests, and stores nothing', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const err = await userErrorOf(downloads().fetch(`${base}/file.txt`, { checksum: wrong }));
    expect(err.message).toBe(`checksum mismatch for ${base}/file.txt: expected ${wrong}, got ${SHA}`);
    expect(await store.listBlobs()).toEqual([]);
    expect(await downloads().heldBlobs()).toEqual(new Set());
  });

  it('a sha512 checksum mismatch names both sha512 digests', async () => {
    const wrong = `sha512:${'0'.repeat(128)}`;
    const err = await userErrorOf(downloads().fetch(`${base}/file.txt`, { checksum: wrong }));
    const got = createHash('sha512').update(BODY).digest('hex');
    expect(err.message).toBe(`checksum mismatch for ${base}/file.txt: expected ${wrong}, got sha512:${got}`);
  });

  it('keeps the bytes in the content store and only the URL records of its own', async () => {
    const dl = downloads();
    const got = await dl.fetch(`${base}/file.txt`);
    expect(got.path).toBe(store.blobPath(SHA));
    expect(await store.has(SHA)).toBe(true);
    expect(await readdir(dl.dir)).toEqual(['urls']);
  });

  it('a blob the store already holds answers a --checksum without a request', async () => {
    await store.put(BODY, 'application/octet-stream');
    const got = await downloads().fetch(`${base}/file.txt`, { checksum: SHA });
    expect(await readFile(got.path, 'utf8')).toBe(BODY);
    expect(requests).toEqual([]);
  });
});

describe('HttpDownloads as a blob holder (GC)', () => {
  it('holds the blobs its URL records name, until it forgets them all', async () => {
    const dl = downloads();
    await dl.fetch(`${base}/file.txt`);
    await dl.fetch(`${base}/redirect`);
    expect(await dl.heldBlobs()).toEqual(new Set([SHA]));
    await dl.forgetAll();
    expect(await dl.heldBlobs()).toEqual(new Set());
    requests = [];
    // forgotten: the next fetch asks unconditionally
    await dl.fetch(`${base}/file.txt`);
    expect(requests.map((r) => r.headers['if-none-match'])).toEqual([undefined]);
  });

  it('a record that names no sha256 blob holds nothing and sends no If-None-Match', async () => {
    const dl = downloads();
    await dl.fetch(`${base}/file.txt`);
    const urls = join(dl.dir, 'urls');
    const [name] = await readdir(urls);
    await writeFile(join(urls, name!), JSON.stringify({ digest: 'sha256:../../x', etag: '"v1"' }));
    expect(await dl.heldBlobs()).toEqual(new Set());
    requests = [];
    expect((await dl.fetch(`${base}/file.txt`)).digest).toBe(SHA);
    expect(requests.map((r) => r.headers['if-none-match'])).toEqual([undefined]);
  });

  it('an error status and an unreachable server are UserErrors', async () => {
    const err = await userErrorOf(downloads().fetch(`${base}/missing`));
    expect(err.message).toMatch(/the server answered 404/);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err2 = await userErrorOf(downloads().fetch(`http://127.0.0.1:${port}/x`));
    expect(err2.message).toMatch(new RegExp(`cannot fetch http://127.0.0.1:${port}/x: .*ECONNREFUSED`));
  });
});
