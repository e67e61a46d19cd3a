import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpDownloads, redactUrl, urlFileName } from './http-download.js';
import { userErrorOf } from '../../test/helpers/user-error.js';

const BODY = 'hello from the test server\n';
const SHA = `sha256:${createHash('sha256').update(BODY).digest('hex')}`;
const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT';

let server: Server;
let base: string;
let requests: { url: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
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
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-http-test-'));
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
    const dl = new HttpDownloads(dir);
    const first = await dl.fetch(`${base}/file.txt`);
    expect(first.digest).toBe(SHA);
    expect(first.lastModified).toBe(Date.parse(LAST_MODIFIED));
    expect(await readFile(first.path, 'utf8')).toBe(BODY);
    const again = await dl.fetch(`${base}/file.txt`);
    expect(again).toEqual(first);
    expect(requests.map((r) => r.headers['if-none-match'])).toEqual([undefined, '"v1"']);
  });

  it('follows redirects', async () => {
    expect((await new HttpDownloads(dir).fetch(`${base}/redirect`)).digest).toBe(SHA);
  });

  it('verifies --checksum, and a cached blob of that digest needs no request at all', async () => {
    const dl = new HttpDownloads(dir);
    await dl.fetch(`${base}/file.txt`, { checksum: SHA });
    requests = [];
    const cached = await dl.fetch(`${base}/file.txt`, { checksum: SHA });
    expect(cached.digest).toBe(SHA);
    expect(cached.lastModified).toBe(Date.parse(LAST_MODIFIED));
    expect(requests).toEqual([]);
  });

  it('verifies sha512 checksums too', async () => {
    const sha512 = `sha512:${createHash('sha512').update(BODY).digest('hex')}`;
    expect((await new HttpDownloads(dir).fetch(`${base}/file.txt`, { checksum: sha512 })).digest).toBe(SHA);
  });

  it('a checksum mismatch is a UserError naming both digests', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const err = await userErrorOf(new HttpDownloads(dir).fetch(`${base}/file.txt`, { checksum: wrong }));
    expect(err.message).toBe(`checksum mismatch for ${base}/file.txt: expected ${wrong}, got ${SHA}`);
  });

  it('an error status and an unreachable server are UserErrors', async () => {
    const err = await userErrorOf(new HttpDownloads(dir).fetch(`${base}/missing`));
    expect(err.message).toMatch(/the server answered 404/);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err2 = await userErrorOf(new HttpDownloads(dir).fetch(`http://127.0.0.1:${port}/x`));
    expect(err2.message).toMatch(new RegExp(`cannot fetch http://127.0.0.1:${port}/x: .*ECONNREFUSED`));
  });
});
