/**
 * BuildKit's frontend/dockerfile/dockerfile_addgit_test.go, ported: ADD from a git repository served over
 * git's "dumb" HTTP protocol by a static file server (BuildKit's tests serve the work tree, `URL/.git`).
 * `alpine` is our busybox layout; `apk add git` has no counterpart, so `git status` checks become
 * checks that the .git directory is there.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { promisify } from 'node:util';
import tarStream from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { FROM_BASE, runCli, unpackArchive } from '../helpers/build-fixture.js';
import { rig, type Rig } from './behaviours-rig.js';

const run = promisify(execFile);
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** `git init [opts]` in a temp dir, served over HTTP at `url` (the dir as its root, so the repo is `url/.git`). */
async function servedRepo(
  initArgs: string[] = [],
): Promise<{ dir: string; url: string; sh(cmd: string): Promise<string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tsb-addgit-'));
  const sh = async (cmd: string) => (await run('sh', ['-ec', cmd], { cwd: dir })).stdout.trim();
  await run('git', ['init', '-q', ...initArgs], { cwd: dir });
  await sh('git config --local user.email test && git config --local user.name test');
  const server: Server = createServer(async (req, res) => {
    const path = normalize(join(dir, decodeURIComponent((req.url ?? '/').split('?')[0]!)));
    if (!path.startsWith(dir)) return void res.writeHead(403).end();
    try {
      res.writeHead(200).end(await readFile(path));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sh };
}

const commit = (tag: string) => `echo foo of ${tag} >foo && git add foo && git commit -q -m ${tag} && git tag ${tag}`;

async function open(dockerfile: string): Promise<Rig> {
  const r = await rig({ Dockerfile: `${dockerfile.replace(/^(\s*FROM\s+)alpine\b/gim, `$1${FROM_BASE}`).trim()}\n` });
  cleanups.push(() => r.cleanup());
  return r;
}

async function testAddGit(format: 'sha1' | 'sha256'): Promise<void> {
  const repo = await servedRepo(format === 'sha256' ? ['--object-format=sha256'] : []);
  await repo.sh(`${commit('v0.0.1')} && ${commit('v0.0.2')} && ${commit('v0.0.3')} && git update-server-info`);
  const v2 = await repo.sh('git rev-parse v0.0.2');
  const v3 = await repo.sh('git rev-parse v0.0.3');
  expect(v2).toHaveLength(format === 'sha256' ? 64 : 40);
  const build = async (text: string) => {
    const r = await open(text);
    return r.local();
  };
  const first = await build(`
FROM alpine
ADD ${repo.url}/.git#v0.0.1 /x
RUN cd /x && [ "$(cat foo)" = "foo of v0.0.1" ]
ARG REPO="${repo.url}/.git"
ARG TAG="v0.0.2"
ADD --keep-git-dir=true --chown=4242:8484 --checksum=${v2} \${REPO}#\${TAG} /buildkit-chowned
USER 4242
RUN cd /buildkit-chowned && [ "$(cat foo)" = "foo of v0.0.2" ] && [ "$(stat -c %u foo)" = "4242" ] && [ "$(stat -c %g foo)" = "8484" ] && [ -d .git ]`);
  expect(first.exitCode, first.stderr).toBe(0);
  const second = await build(`
FROM alpine
ARG REPO="${repo.url}/.git"
ARG TAG="v0.0.3"
ADD --checksum=${v3} \${REPO}#\${TAG} /nogitdir
RUN [ -f /nogitdir/foo ]
RUN [ "$(cat /nogitdir/foo)" = "foo of v0.0.3" ]
RUN [ ! -d /nogitdir/.git ]`);
  expect(second.exitCode, second.stderr).toBe(0);
  const third = await build(`
FROM alpine
ARG REPO="${repo.url}/.git"
ARG TAG="v0.0.2"
ADD --keep-git-dir --checksum=${v2} \${REPO}#\${TAG} /nogitdir
RUN [ "$(cat /nogitdir/foo)" = "foo of v0.0.2" ]
RUN [ -d /nogitdir/.git ]`);
  expect(third.exitCode, third.stderr).toBe(0);
  const fourth = await build(`
FROM alpine
ARG REPO="${repo.url}/.git"
ARG COMMIT="${v3}"
ADD --keep-git-dir=true --checksum=${v3} \${REPO}#\${COMMIT} /commitdir
RUN [ "$(cat /commitdir/foo)" = "foo of v0.0.3" ]
RUN [ -d /commitdir/.git ]`);
  expect(fourth.exitCode, fourth.stderr).toBe(0);
  const wrong = await build(`
FROM alpine
ADD --checksum=${v2} ${repo.url}/.git#v0.0.3 /faildir`);
  expect(wrong.exitCode).not.toBe(0);
  expect(wrong.stderr).toContain('expected checksum to match');
  const garbage = await build(`
FROM alpine
ADD --checksum=foobar ${repo.url}/.git#v0.0.3 /faildir`);
  expect(garbage.exitCode).not.toBe(0);
  expect(garbage.stderr).toContain('invalid checksum');
  expect(garbage.stderr).toContain('expected hex commit hash');
}

describe('BuildKit ADD from git (dockerfile_addgit_test.go)', () => {
  // testAddGit is the Go body both run, one object format each
  describe('testAddGit (the body of testAddGitSHA1 and testAddGitSHA256)', () => {
    it('testAddGitSHA1', () => testAddGit('sha1'), 120_000);

    it('testAddGitSHA256', () => testAddGit('sha256'), 120_000);
  });

  it('testAddGitChecksumCache', async () => {
    const repo = await servedRepo();
    await repo.sh(`${commit('v0.0.1')} && ${commit('v0.0.2')} && git update-server-info`);
    const hash = await repo.sh('git rev-parse v0.0.2');
    const text = (checksum: string) => `
FROM alpine AS src
ADD --keep-git-dir ${checksum}${repo.url}/.git#v0.0.2 /repo
RUN head -c 16 /dev/urandom | base64 > /repo/unique.txt
FROM scratch
COPY --from=src /repo/unique.txt /`;
    const r = await open(text(''));
    const first = await r.local();
    expect(first.exitCode, first.stderr).toBe(0);
    const second = await r.local([], {
      files: { Dockerfile: text(`--checksum=${hash} `).replace(/^(\s*FROM\s+)alpine\b/gim, `$1${FROM_BASE}`) },
    });
    expect(second.exitCode, second.stderr).toBe(0);
    expect(await second.read('unique.txt')).toBe(await first.read('unique.txt'));
  }, 120_000);
});

describe('BuildKit git URL query strings (testGitQueryString)', () => {
  it('testGitQueryString: ADD and a git context, by ref, branch, tag, commit (full and short), subdir, keep-git-dir, submodules', async () => {
    const sub = await servedRepo();
    await sub.sh('echo 123 >file && git add file && git commit -q -m initial && git update-server-info');
    const repo = await servedRepo();
    await repo.sh('echo base >foo');
    await writeFile(
      join(repo.dir, 'Dockerfile'),
      'FROM scratch AS withgit\nCOPY .git/HEAD out\n\nFROM scratch as withsubmod\nCOPY submod/file out\n\nFROM scratch\nCOPY foo out\n',
    );
    await repo.sh(
      [
        `git -c protocol.file.allow=always submodule -q add ${sub.url}/.git submod`,
        'git add Dockerfile foo submod',
        'git commit -q -m initial',
        'git tag v0.0.1',
        'git branch base',
        'echo feature >foo',
        'mkdir sub',
        'echo subfeature >sub/foo',
        'cp Dockerfile sub/',
        'git add foo sub',
        'git commit -q -m feature',
        'git branch feature',
        'git checkout -q -B master base',
        'echo v0.0.2 >foo',
        'git add foo',
        'git commit -q -m v0.0.2',
        'git tag v0.0.2',
        'echo latest >foo',
        'git add foo',
        'git commit -q -m latest',
        'git tag latest',
        'git update-server-info',
      ].join(' && '),
    );
    const v2 = await repo.sh('git rev-parse v0.0.2');
    const latest = await repo.sh('git rev-parse latest');
    const url = `${repo.url}/.git`;
    const cases: { name: string; url: string; target?: string; out?: string; err?: string }[] = [
      { name: 'tag with invalid commit', url: `${url}?tag=v0.0.2&commit=${latest}`, err: 'expected checksum to match' },
      { name: 'old style ref', url: `${url}#v0.0.2`, out: 'v0.0.2\n' },
      { name: 'querystring ref', url: `${url}?ref=base`, out: 'base\n' },
      { name: 'querystring branch', url: `${url}?branch=base`, out: 'base\n' },
      { name: 'querystring invalid branch', url: `${url}?branch=invalid`, err: 'repository does not contain ref' },
      { name: 'tag as branch', url: `${url}?branch=v0.0.2`, err: 'repository does not contain ref' },
      { name: 'allowed mixed refs', url: `${url}?tag=v0.0.2#refs/tags/v0.0.2`, out: 'v0.0.2\n' },
      { name: 'v2 by commit', url: `${url}?commit=${latest}`, out: 'latest\n' },
      { name: 'v2 by commit (wrong short)', url: `${url}?commit=${v2.slice(0, 8)}`, err: 'expected checksum to match' },
      { name: 'v2 by commit (short)', url: `${url}?commit=${latest.slice(0, 8)}`, out: 'latest\n' },
      { name: 'v2 ref by commit', url: `${url}?ref=${v2}`, out: 'v0.0.2\n' },
      { name: 'v2 ref by commit (short)', url: `${url}?ref=${v2.slice(0, 8)}`, err: 'repository does not contain ref' },
      { name: 'tag with commit', url: `${url}?tag=v0.0.2&commit=${v2}`, out: 'v0.0.2\n' },
      { name: 'commit with commit', url: `${url}?ref=${v2}&commit=${v2}`, out: 'v0.0.2\n' },
      { name: 'latest with commit', url: `${url}?commit=${latest}`, out: 'latest\n' },
      { name: 'mismatch refs', url: `${url}?tag=v0.0.2#refs/heads/master`, err: 'ref conflicts' },
      { name: 'sub old-style', url: `${url}#feature:sub`, out: 'subfeature\n' },
      { name: 'sub query', url: `${url}?subdir=sub&ref=feature`, out: 'subfeature\n' },
      { name: 'withgit', url: `${url}?keep-git-dir=true`, out: `${latest}\n`, target: 'withgit' },
      { name: 'withgitandtag', url: `${url}?tag=v0.0.2&keep-git-dir=true`, out: `${v2}\n`, target: 'withgit' },
      { name: 'withgit-default', url, err: '.git/HEAD": not found', target: 'withgit' },
      { name: 'withgit-valueless', url: `${url}?keep-git-dir&submodules`, out: `${latest}\n`, target: 'withgit' },
      { name: 'withgit-forbidden', url: `${url}?keep-git-dir=false`, err: '.git/HEAD": not found', target: 'withgit' },
      { name: 'withsubmod', url, out: '123\n', target: 'withsubmod' },
      { name: 'withsubmodset', url: `${url}?submodules=true`, out: '123\n', target: 'withsubmod' },
      { name: 'withsubmodempty', url: `${url}?submodules`, out: '123\n', target: 'withsubmod' },
      { name: 'withoutsubmod', url: `${url}?submodules=false`, err: 'submod/file": not found', target: 'withsubmod' },
    ];
    const failures: string[] = [];
    const r = await open('FROM scratch\n');
    const check = (
      kind: string,
      c: (typeof cases)[number],
      res: { exitCode: number; stderr: string },
      out?: string,
    ) => {
      if (c.err) {
        if (res.exitCode === 0 || !res.stderr.includes(c.err))
          failures.push(
            `${kind}_${c.name}: wanted error "${c.err}", got ${res.exitCode}: ${res.stderr
              .split('\n')
              .filter((l) => l.startsWith('error'))
              .join(' ')}`,
          );
      } else if (res.exitCode !== 0)
        failures.push(
          `${kind}_${c.name}: ${res.stderr
            .split('\n')
            .filter((l) => l.startsWith('error'))
            .join(' ')}`,
        );
      else if (out !== c.out)
        failures.push(`${kind}_${c.name}: wanted ${JSON.stringify(c.out)}, got ${JSON.stringify(out)}`);
    };
    for (const c of cases) {
      // the repository as the build context
      const dest = join(r.fx.dir, `ctx-${cases.indexOf(c)}`);
      const res = await runCli(
        ['--progress=plain', '-o', `type=local,dest=${dest}`, ...(c.target ? ['--target', c.target] : []), c.url],
        {
          env: { TSBUILD_ROOT: r.fx.stateRoot },
        },
      );
      check(
        'context',
        c,
        res,
        res.exitCode === 0 ? await readFile(join(dest, 'out'), 'utf8').catch(() => undefined) : undefined,
      );
    }
    for (const c of cases) {
      const add = await r.local(c.target ? ['--target', c.target] : [], {
        files: {
          Dockerfile: `FROM scratch AS main\nADD ${c.url} /repo/\n\nFROM scratch as withsubmod\nCOPY --from=main /repo/submod/file /repo/foo\n\nFROM scratch AS withgit\nCOPY --from=main /repo/.git/HEAD /repo/foo\n\nFROM main\n`,
        },
      });
      check('add', c, add, add.exitCode === 0 ? await add.read('repo/foo').catch(() => undefined) : undefined);
    }
    expect(failures).toEqual([]);
  }, 300_000);
});

describe("SOURCE_DATE_EPOCH from a stage's remote source (Dockerfile 1.23+)", () => {
  const dockerfile = (url: string) => `
ARG SOURCE_DATE_EPOCH=mysource
FROM scratch AS mysource
ADD ${url} /
FROM alpine
ARG SOURCE_DATE_EPOCH
RUN echo -n "$SOURCE_DATE_EPOCH" >/epoch`;

  it('a git repository: the commit time at the ref', async () => {
    const repo = await servedRepo();
    await repo.sh(
      'echo a >foo && git add foo && GIT_COMMITTER_DATE=@1700000701 git commit -q -m one && git tag v1 && echo b >foo && git add foo && GIT_COMMITTER_DATE=@1700000799 git commit -q -m two && git update-server-info',
    );
    const r = await open(dockerfile(`${repo.url}/.git#v1`));
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('epoch')).toBe('1700000701');
  }, 120_000);

  it('testSourceDateEpochStageHTTPArchive (no Last-Modified: the newest entry of the archive)', async () => {
    const archiveMaxTime = 1700000402;
    const pack = tarStream.pack();
    pack.entry({ name: 'foo', mtime: new Date(archiveMaxTime * 1000) }, 'bar');
    pack.entry({ name: 'old', mtime: new Date((archiveMaxTime - 3600) * 1000) }, 'x');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const tar = Buffer.concat(chunks);
    const server: Server = createServer((_req, res) => void res.writeHead(200).end(tar));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    const r = await open(dockerfile(`http://127.0.0.1:${(server.address() as AddressInfo).port}/src.tar`));
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('epoch')).toBe(String(archiveMaxTime));
  }, 120_000);

  it('an http(s) file: its Last-Modified (testSourceDateEpochNamedContextHTTPLastModified, as a stage)', async () => {
    const lastModified = new Date(1700000601 * 1000);
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'Last-Modified': lastModified.toUTCString(), 'Content-Type': 'text/plain' }).end('bar');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    const r = await open(dockerfile(`http://127.0.0.1:${(server.address() as AddressInfo).port}/src.txt`));
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('epoch')).toBe('1700000601');
  }, 120_000);
});

describe('SOURCE_DATE_EPOCH naming a --build-context fetched from a URL', () => {
  /** Serves `body` at /src.tar; builds `dockerfile` with `--build-context mysource=URL` to an OCI archive. */
  async function build(dockerfile: string, body: Buffer | string, headers: Record<string, string> = {}) {
    const server: Server = createServer((_req, res) => void res.writeHead(200, headers).end(body));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    const dir = await mkdtemp(join(tmpdir(), 'tsb-epoch-named-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'Dockerfile'), dockerfile);
    const archive = join(dir, 'out.tar');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/src.tar`;
    const res = await runCli(
      [
        '--progress=plain',
        '--build-context',
        `mysource=${url}`,
        '-t',
        'bk:latest',
        '-o',
        `type=oci,dest=${archive}`,
        dir,
      ],
      { env: { TSBUILD_ROOT: join(dir, 'state') } },
    );
    expect(res.exitCode, res.stderr).toBe(0);
    const img = await unpackArchive(archive, join(dir, 'unpacked'));
    return { created: Date.parse(img.config.created as string) / 1000, read: img.read };
  }

  it('testSourceDateEpochNamedContextHTTPLastModified: the Last-Modified of the URL the context came from', async () => {
    const lastModified = 1700000601;
    const pack = tarStream.pack();
    pack.entry({ name: 'foo', mtime: new Date((lastModified + 3600) * 1000) }, 'bar');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const { created } = await build(
      'ARG SOURCE_DATE_EPOCH=mysource\nFROM scratch\nCOPY Dockerfile .\n',
      Buffer.concat(chunks),
      { 'Last-Modified': new Date(lastModified * 1000).toUTCString() },
    );
    expect(created).toBe(lastModified);
  }, 120_000);

  it('testSourceDateEpochNamedContextHTTPArchive: no Last-Modified, the newest entry of the archive', async () => {
    const archiveMaxTime = 1700000602;
    const pack = tarStream.pack();
    pack.entry({ name: 'foo', mtime: new Date(archiveMaxTime * 1000) }, 'bar');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const { created, read } = await build(
      `ARG SOURCE_DATE_EPOCH=mysource\nFROM ${FROM_BASE}\nARG SOURCE_DATE_EPOCH\nRUN echo -n "$SOURCE_DATE_EPOCH" >/epoch\n`,
      Buffer.concat(chunks),
    );
    expect(created).toBe(archiveMaxTime);
    expect(await read('epoch')).toBe(String(archiveMaxTime));
  }, 120_000);
});

describe('SOURCE_DATE_EPOCH=context of a remote build context', () => {
  /** Builds `context` (a URL) to an OCI archive with SOURCE_DATE_EPOCH=context; the image's `created` in seconds. */
  async function created(context: string): Promise<number> {
    const dir = await mkdtemp(join(tmpdir(), 'tsb-epoch-ctx-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const archive = join(dir, 'out.tar');
    const res = await runCli(
      [
        '--progress=plain',
        '--build-arg',
        'SOURCE_DATE_EPOCH=context',
        '-t',
        'bk:latest',
        '-o',
        `type=oci,dest=${archive}`,
        context,
      ],
      { env: { TSBUILD_ROOT: join(dir, 'state') } },
    );
    expect(res.exitCode, res.stderr).toBe(0);
    const img = await unpackArchive(archive, join(dir, 'unpacked'));
    return Date.parse(img.config.created as string) / 1000;
  }

  /** A server of one file at /context.tar, with a Last-Modified when given. */
  async function serve(body: Buffer, lastModified?: number): Promise<string> {
    const server: Server = createServer((_req, res) => {
      res
        .writeHead(200, lastModified ? { 'Last-Modified': new Date(lastModified * 1000).toUTCString() } : {})
        .end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/context.tar`;
  }

  async function tarOf(files: { name: string; data: string; mtime: number }[]): Promise<Buffer> {
    const pack = tarStream.pack();
    for (const f of files) pack.entry({ name: f.name, mtime: new Date(f.mtime * 1000) }, f.data);
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  it('testSourceDateEpochContextGit', async () => {
    const repo = await servedRepo();
    await repo.sh(
      'printf "FROM scratch\\nCOPY Dockerfile /\\n" >Dockerfile && git add Dockerfile && GIT_AUTHOR_DATE=@1700000101 GIT_COMMITTER_DATE=@1700000101 git commit -q -m msg && git update-server-info',
    );
    expect(await created(`${repo.url}/.git`)).toBe(1700000101);
  }, 120_000);

  it('testSourceDateEpochContextHTTPLastModified', async () => {
    const tar = await tarOf([
      { name: 'Dockerfile', data: 'FROM scratch\nCOPY foo /\n', mtime: 1700000202 - 3600 },
      { name: 'foo', data: 'bar', mtime: 1700000202 },
    ]);
    expect(await created(await serve(tar, 1700000201))).toBe(1700000201);
  }, 120_000);

  it('testSourceDateEpochContextHTTPArchive', async () => {
    const tar = await tarOf([
      { name: 'Dockerfile', data: 'FROM scratch\nCOPY foo /\n', mtime: 1700000302 - 3600 },
      { name: 'foo', data: 'bar', mtime: 1700000302 },
    ]);
    expect(await created(await serve(tar))).toBe(1700000302);
  }, 120_000);
});
