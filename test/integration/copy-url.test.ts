import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, runCli, type Fixture } from '../helpers/build-fixture.js';

const run = promisify(execFile);
const LAST_MODIFIED = 'Tue, 02 Mar 2021 10:20:30 GMT';

/** A small server of the test's own on 127.0.0.1: files by path, ETags from content, a request log. */
class FileServer {
  readonly files = new Map<string, Buffer>();
  readonly log: { path: string; conditional: boolean }[] = [];
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      this.log.push({ path, conditional: req.headers['if-none-match'] !== undefined });
      const body = this.files.get(path);
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag }).end();
        return;
      }
      res.writeHead(200, { etag, 'last-modified': LAST_MODIFIED, 'content-length': body.length }).end(body);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('ADD from http URLs', () => {
  const srv = new FileServer();
  let fx: Fixture;
  let tgz: Buffer;

  beforeAll(async () => {
    await srv.start();
    srv.files.set('/dl/hello.txt', Buffer.from('hello\n'));
    const work = await mkdtemp(join(tmpdir(), 'tsbuild-url-'));
    await writeFile(join(work, 'inside.txt'), 'inside\n');
    await run('tar', ['-czf', join(work, 'a.tgz'), '-C', work, 'inside.txt']);
    tgz = await readFile(join(work, 'a.tgz'));
    await rm(work, { recursive: true, force: true });
    srv.files.set('/dl/a.tgz', tgz);
  });
  afterAll(async () => {
    await fx?.cleanup();
    await srv.stop();
  });

  it("downloads under the URL's file name, mode 0600, mtime from Last-Modified; archives only with --unpack=true", async () => {
    fx = await makeFixture({
      Dockerfile:
        [
          `FROM ${FROM_BASE}`,
          `ARG SERVER=${srv.url}`,
          'ADD ${SERVER}/dl/hello.txt /u1/',
          'ADD ${SERVER}/dl/hello.txt /u2/renamed.txt',
          'ADD --chmod=755 --chown=7:8 ${SERVER}/dl/hello.txt /u3/',
          'ADD ${SERVER}/dl/a.tgz /u4/',
          'ADD --unpack=true ${SERVER}/dl/a.tgz /u5/',
          'ADD ${SERVER}/dl/hello.txt local.txt /u6/',
          'RUN stat -c %Y /u1/hello.txt > /mtime',
        ].join('\n') + '\n',
      'local.txt': 'local\n',
    });
    const res = await fx.build();
    expect(res.exitCode, res.stderr).toBe(0);
    const img = await fx.unpack();
    const u1 = await img.stat('/u1/hello.txt');
    expect([u1.mode, u1.uid, u1.gid]).toEqual([0o600, 0, 0]);
    expect(await img.read('/u1/hello.txt')).toBe('hello\n');
    expect(await img.read('/mtime')).toBe(`${Date.parse(LAST_MODIFIED) / 1000}\n`);
    expect(await img.read('/u2/renamed.txt')).toBe('hello\n');
    const u3 = await img.stat('/u3/hello.txt');
    expect([u3.mode, u3.uid, u3.gid]).toEqual([0o755, 7, 8]);
    expect((await img.stat('/u4/a.tgz')).size).toBe(tgz.length);
    expect(await img.read('/u5/inside.txt')).toBe('inside\n');
    expect(await img.read('/u6/local.txt')).toBe('local\n');
    expect(await img.read('/u6/hello.txt')).toBe('hello\n');
  });

  it('a rebuild asks with If-None-Match and stays cached; new content at the URL re-runs the step', async () => {
    srv.log.length = 0;
    const again = await fx.build();
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/#\d+ running/);
    expect(srv.log.length).toBeGreaterThan(0);
    expect(srv.log.every((r) => r.conditional)).toBe(true);
    srv.files.set('/dl/hello.txt', Buffer.from('hello again\n'));
    const changed = await fx.build();
    expect(changed.exitCode, changed.stderr).toBe(0);
    expect(changed.stderr).toMatch(/#\d+ running/);
    expect(await (await fx.unpack()).read('/u1/hello.txt')).toBe('hello again\n');
  });

  it('prune keeps the downloads its URL records hold; prune --all forgets them', async () => {
    const env = { TSBUILD_ROOT: fx.stateRoot };
    expect((await runCli(['prune'], { env })).exitCode).toBe(0);
    srv.log.length = 0;
    const kept = await fx.build();
    expect(kept.exitCode, kept.stderr).toBe(0);
    expect(srv.log.length).toBeGreaterThan(0);
    expect(srv.log.every((r) => r.conditional)).toBe(true);
    expect((await runCli(['prune', '--all'], { env })).exitCode).toBe(0);
    srv.log.length = 0;
    const forgotten = await fx.build();
    expect(forgotten.exitCode, forgotten.stderr).toBe(0);
    expect(srv.log.some((r) => !r.conditional)).toBe(true);
    expect(await (await fx.unpack()).read('/u1/hello.txt')).toBe('hello again\n');
  });
});

describe('ADD --checksum and URL errors', () => {
  const srv = new FileServer();
  let fx: Fixture | undefined;
  const body = Buffer.from('pinned content\n');
  beforeAll(async () => {
    await srv.start();
    srv.files.set('/pinned.bin', body);
  });
  afterAll(async () => {
    await fx?.cleanup();
    await srv.stop();
  });

  const build = async (dockerfile: string) => {
    await fx?.cleanup();
    fx = await makeFixture({ Dockerfile: dockerfile });
    return fx.build();
  };

  it('a matching checksum builds; the rebuild sends no request at all', async () => {
    const res = await build(`FROM ${FROM_BASE}\nADD --checksum=${sha256(body)} ${srv.url}/pinned.bin /p/\n`);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await (await fx!.unpack()).read('/p/pinned.bin')).toBe('pinned content\n');
    srv.log.length = 0;
    const again = await fx!.build();
    expect(again.exitCode).toBe(0);
    expect(srv.log).toEqual([]);
  });

  it('a checksum mismatch fails the step at its line, naming both digests', async () => {
    const wrong = sha256('something else');
    const res = await build(`FROM ${FROM_BASE}\nRUN true\nADD --checksum=${wrong} ${srv.url}/pinned.bin /p/\n`);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toMatch(/Dockerfile:3:1: .*checksum mismatch for http:\/\/127\.0\.0\.1:\d+\/pinned\.bin/);
    expect(res.stderr).toContain(`expected ${wrong}, got ${sha256(body)}`);
  });

  it('an unreachable server and a 404 are errors at the ADD line', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const res = await build(`FROM ${FROM_BASE}\nADD http://127.0.0.1:${port}/x /x\n`);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toMatch(/Dockerfile:2:1: .*cannot fetch http:\/\/127\.0\.0\.1:\d+\/x: .*ECONNREFUSED/);
    const missing = await build(`FROM ${FROM_BASE}\nADD ${srv.url}/missing /x\n`);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/Dockerfile:2:1: .*the server answered 404/);
  });
});
