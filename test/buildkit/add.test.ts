/**
 * BuildKit's frontend/dockerfile/dockerfile_add_test.go, ported where it runs here (the rest: INDEX.md).
 * Built by the real CLI, as the other ports in this folder.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { df, rig, type Rig } from './behaviours-rig.js';
import { gzip, tarOf } from './tar-rig.js';

const run = promisify(execFile);

const rigs: Rig[] = [];
afterAll(async () => {
  for (const r of rigs) await r.cleanup();
});
async function build(files: Record<string, string>) {
  const r = await rig(files);
  rigs.push(r);
  return r.local();
}
/** A rig whose context also holds binary files (archives). */
async function openWith(files: Record<string, string>, bins: Record<string, Buffer> = {}): Promise<Rig> {
  const r = await rig(files);
  rigs.push(r);
  for (const [name, data] of Object.entries(bins)) await writeFile(join(r.fx.context, name), data);
  return r;
}
async function buildWith(files: Record<string, string>, bins: Record<string, Buffer> = {}, args: string[] = []) {
  const res = await (await openWith(files, bins)).local(args);
  expect(res.exitCode, res.stderr).toBe(0);
  return res;
}

interface Served {
  etag: string;
  content: Buffer | string;
  lastModified?: Date;
}
/** BuildKit's httpserver test server: ETag answers with 304 on If-None-Match, requests recorded per path. */
async function serve(routes: Record<string, Served>) {
  const requests = new Map<string, { method: string; userAgent: string }[]>();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route = routes[path];
    if (!route) return void res.writeHead(404).end();
    requests.set(path, [
      ...(requests.get(path) ?? []),
      { method: req.method ?? '', userAgent: req.headers['user-agent'] ?? '' },
    ]);
    const headers: Record<string, string> = { etag: route.etag };
    if (route.lastModified) headers['last-modified'] = route.lastModified.toUTCString();
    if (req.headers['if-none-match'] === route.etag) return void res.writeHead(304, headers).end();
    res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : route.content);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  rigs.push({ cleanup: () => new Promise<void>((r) => server.close(() => r())) } as Rig);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

describe('BuildKit ADD (dockerfile_add_test.go)', () => {
  it("testDockerfileADDFromURL (User-Agent is tsbuild's own, not buildkit/v…)", async () => {
    const modTime = new Date(Math.floor((Date.now() - 24 * 3600_000) / 1000) * 1000);
    const srv = await serve({
      '/foo': { etag: '"e1"', content: 'content1' },
      '/': { etag: '"e2"', content: 'content2', lastModified: modTime },
    });
    const r = await openWith({ Dockerfile: `FROM scratch\nADD ${srv.url}/foo /dest/\n` });
    const first = await r.local();
    expect(first.exitCode, first.stderr).toBe(0);
    expect(await first.read('dest/foo')).toBe('content1');
    // run again to test HEAD request
    const again = await r.cli([]);
    expect(again.exitCode, again.stderr).toBe(0);

    const unnamed = await buildWith({ Dockerfile: `FROM scratch\nADD ${srv.url}/ /dest/\n` });
    expect(await unnamed.read('dest/__unnamed__')).toBe('content2');
    expect((await stat(join(unnamed.out, 'dest/__unnamed__'))).mtime.toUTCString()).toBe(modTime.toUTCString());

    const reqs = srv.requests.get('/foo') ?? [];
    expect(reqs.map((q) => q.method)).toEqual(['GET', 'HEAD']);
    for (const q of reqs) expect(q.userAgent).toContain('tsbuild');
  });

  it('testDockerfileAddArchive', async () => {
    const tar = tarOf([{ name: 'foo', content: 'content0' }]);
    const tgz = gzip(tar);
    let res = await buildWith({ Dockerfile: 'FROM scratch\nADD t.tar /\n' }, { 't.tar': tar });
    expect(await res.read('foo')).toBe('content0');
    res = await buildWith({ Dockerfile: 'FROM scratch\nADD t.tar.gz /\n' }, { 't.tar.gz': tgz });
    expect(await res.read('foo')).toBe('content0');
    // add with unpack=false
    res = await buildWith({ Dockerfile: '\tFROM scratch\n\tADD --unpack=false t.tar.gz /\n\t' }, { 't.tar.gz': tgz });
    await expect(stat(join(res.out, 'foo'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(join(res.out, 't.tar.gz'))).toEqual(tgz);
    // COPY doesn't extract
    res = await buildWith({ Dockerfile: 'FROM scratch\nCOPY t.tar.gz /\n' }, { 't.tar.gz': tgz });
    expect(await readFile(join(res.out, 't.tar.gz'))).toEqual(tgz);
    // ADD from URL doesn't extract
    const srv = await serve({ '/t.tar.gz': { etag: '"t1"', content: tgz } });
    res = await buildWith({ Dockerfile: `FROM scratch\nADD ${srv.url}/t.tar.gz /\n` });
    expect(await readFile(join(res.out, 't.tar.gz'))).toEqual(tgz);
    // ADD from URL with --unpack=true
    res = await buildWith({ Dockerfile: `FROM scratch\nADD --unpack=true ${srv.url}/t.tar.gz /dest/\n` });
    expect(await res.read('dest/foo')).toBe('content0');
    // https://github.com/moby/buildkit/issues/386
    res = await buildWith({ Dockerfile: `FROM scratch\nADD ${srv.url}/t.tar.gz /newname.tar.gz\n` });
    expect(await readFile(join(res.out, 'newname.tar.gz'))).toEqual(tgz);
  });

  it('testDockerfileAddArchiveWithImpliedParentDir', async () => {
    const tgz = gzip(
      tarOf([
        { name: 'etc/dnf/', type: 'directory', mode: 0o755 },
        { name: 'etc/dnf/dnf.conf', content: 'content0' },
      ]),
    );
    const res = await buildWith({ Dockerfile: 'FROM scratch\nADD t.tar.gz /\n' }, { 't.tar.gz': tgz });
    expect(await res.read('etc/dnf/dnf.conf')).toBe('content0');
  });

  it('testDockerfileAddArchiveThroughAbsoluteSymlink', async () => {
    const rootfs = tarOf([
      { name: 'run/', type: 'directory' },
      { name: 'var/', type: 'directory' },
      { name: 'var/run', type: 'symlink', linkname: '/run', mode: 0o777 },
    ]);
    const head = 'ref: refs/heads/main\n';
    const payload = tarOf([
      { name: 'var/run/act/', type: 'directory' },
      { name: 'var/run/act/actions/', type: 'directory' },
      { name: 'var/run/act/actions/broad/', type: 'directory' },
      { name: 'var/run/act/actions/broad/.git/', type: 'directory' },
      { name: 'var/run/act/actions/broad/.git/HEAD', content: head },
      {
        name: 'var/run/act/actions/broad/.git/HEAD.link',
        type: 'link',
        linkname: 'var/run/act/actions/broad/.git/HEAD',
      },
    ]);
    const res = await buildWith(
      { Dockerfile: 'FROM scratch\nADD rootfs.tar /\nADD payload.tar /\n' },
      { 'rootfs.tar': rootfs, 'payload.tar': payload },
    );
    expect(await res.read('run/act/actions/broad/.git/HEAD')).toBe(head);
    expect(await res.read('run/act/actions/broad/.git/HEAD.link')).toBe(head);
    const file = await stat(join(res.out, 'run/act/actions/broad/.git/HEAD'));
    const link = await stat(join(res.out, 'run/act/actions/broad/.git/HEAD.link'));
    expect([link.dev, link.ino]).toEqual([file.dev, file.ino]);
  });

  it('testDockerfileAddChownArchive', async () => {
    const r = await openWith(
      { Dockerfile: 'FROM scratch\nADD --chown=100:200 t.tar /out/\n' },
      { 't.tar': tarOf([{ name: 'foo', content: 'content0' }]) },
    );
    const out = join(r.fx.dir, 'out.tar');
    const res = await r.cli(['-o', `type=tar,dest=${out}`]);
    expect(res.exitCode, res.stderr).toBe(0);
    const { stdout } = await run('tar', ['--numeric-owner', '-tvf', out]);
    const owner = (name: string) =>
      stdout
        .split('\n')
        .find((l) => l.endsWith(` ${name}`))
        ?.split(/\s+/)[1];
    expect(owner('out/foo')).toBe('100/200');
    expect(owner('out/')).toBe('100/200');
    const { stdout: data } = await run('tar', ['-xOf', out, 'out/foo']);
    expect(data).toBe('content0');
  });

  it('testDockerfileAddArchiveWildcard', async () => {
    const res = await buildWith(
      { Dockerfile: 'FROM scratch\nADD *.tar /dest\n' },
      {
        't.tar': tarOf([{ name: 'foo', content: 'content0' }]),
        'b.tar': tarOf([{ name: 'bar', content: 'content1' }]),
      },
    );
    expect(await res.read('dest/foo')).toBe('content0');
    expect(await res.read('dest/bar')).toBe('content1');
  });

  it("testDockerfileAddChownExpand (the nobody group of Docker's busybox named in the stage)", async () => {
    await buildWith(
      {
        Dockerfile: df(`
FROM busybox
RUN sed -i 's/^nogroup:/nobody:/' /etc/group
ARG group
ENV owner 1000
ADD --chown=\${owner}:\${group} foo /
RUN [ "$(stat -c "%u %G" /foo)" == "1000 nobody" ]`),
        foo: 'foo-contents',
      },
      {},
      ['--build-arg', 'group=nobody'],
    );
  });

  it('testAddURLChmod', async () => {
    const srv = await serve({ '/foo': { etag: '"c1"', content: 'content1' } });
    const u = `${srv.url}/foo`;
    const res = await buildWith(
      {
        Dockerfile: df(`
FROM busybox AS build
ADD --chmod=644 ${u} /tmp/foo1
ADD --chmod=755 ${u} /tmp/foo2
ADD --chmod=0413 ${u} /tmp/foo3

ARG mode
ADD --chmod=\${mode} ${u} /tmp/foo4

RUN stat -c "%04a" /tmp/foo1 >> /dest && \\
	stat -c "%04a" /tmp/foo2 >> /dest && \\
	stat -c "%04a" /tmp/foo3 >> /dest && \\
	stat -c "%04a" /tmp/foo4 >> /dest

FROM scratch
COPY --from=build /dest /dest`),
      },
      {},
      ['--build-arg', 'mode=400'],
    );
    expect(await res.read('dest')).toBe('0644\n0755\n0413\n0400\n');
  });

  it('testAddInvalidChmod', async () => {
    for (const mode of ['64a', '10000']) {
      const res = await build({ Dockerfile: `FROM scratch\nADD --chmod=${mode} foo /\n`, foo: 'foo-contents' });
      expect(res.exitCode).not.toBe(0);
      expect(res.stderr).toContain(
        `invalid chmod parameter: '${mode}'. it should be octal string and between 0 and 07777`,
      );
    }
  });

  describe('testAddChecksum', () => {
    const content = 'content1';
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    let server: Server;
    let url = '';
    beforeAll(async () => {
      server = createServer((_req, res) => void res.writeHead(200).end(content));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/foo`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('Valid', async () => {
      const res = await build({ Dockerfile: `FROM scratch\nADD --checksum=sha256:${sha(content)} ${url} /tmp/foo\n` });
      expect(res.exitCode, res.stderr).toBe(0);
      expect(await res.read('tmp/foo')).toBe(content);
    });

    it('DigestFromEnv', async () => {
      const res = await build({
        Dockerfile: `FROM scratch\nENV DIGEST=sha256:${sha(content)}\nENV LINK=${url}\nADD --checksum=\${DIGEST} \${LINK} /tmp/foo\n`,
      });
      expect(res.exitCode, res.stderr).toBe(0);
      expect(await res.read('tmp/foo')).toBe(content);
    });

    it.each([
      ['DigestMismatch', `sha256:${sha('')}`],
      ['DigestWithKnownButUnsupportedAlgoName', 'md5:7e55db001d319a94b0b713529a756623'],
      ['DigestWithUnknownAlgoName', `unknown:${sha(content)}`],
      ['DigestWithoutAlgoName', sha(content)],
    ])('%s fails', async (_name, checksum) => {
      const res = await build({ Dockerfile: `FROM scratch\nADD --checksum=${checksum} ${url} /tmp/foo\n` });
      expect(res.exitCode).not.toBe(0);
    });

    it('NonHTTPSource fails', async () => {
      const res = await build({
        Dockerfile: `FROM scratch\nADD --checksum=sha256:${sha('local file')} foo /tmp/foo\n`,
        foo: 'local file',
      });
      expect(res.exitCode).not.toBe(0);
    });
  });
});
