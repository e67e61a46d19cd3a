/**
 * BuildKit's frontend/dockerfile/dockerfile_git_http_test.go against our CLI: build contexts that
 * are a tar on stdin (BuildKit's upload provider), a git repository served over git's "dumb" HTTP
 * protocol (a static file server of the work tree, `URL/.git`), and http(s) URLs.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/build-fixture.js';
import { df } from './behaviours-rig.js';
import { tarOf } from './tar-rig.js';

const run = promisify(execFile);
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Serves `dir`'s files, or the given bodies by path (each with an ETag, as BuildKit's httpserver does). */
async function serve(root: string | Record<string, Buffer | string>): Promise<string> {
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    if (typeof root !== 'string') {
      const body = root[path];
      return void (body === undefined ? res.writeHead(404).end() : res.writeHead(200, { etag: `"${path}"` }).end(body));
    }
    const file = normalize(join(root, path));
    if (!file.startsWith(root)) return void res.writeHead(403).end();
    try {
      res.writeHead(200).end(await readFile(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A build of `context` to a fresh local dir, on a state dir of its own. */
async function build(context: string, args: string[] = [], input?: Buffer) {
  const dir = await tempDir('tsb-githttp-');
  const out = join(dir, 'out');
  const res = await runCli(['build', '--progress=plain', '-o', `type=local,dest=${out}`, ...args, context], {
    env: { TSBUILD_ROOT: join(dir, 'state') },
    ...(input ? { input } : {}),
  });
  return { ...res, out, read: (p: string) => readFile(join(out, p), 'utf8') };
}

describe('BuildKit git and http contexts (dockerfile_git_http_test.go)', () => {
  it('testTarContext: a tar on stdin, its Dockerfile inside', async () => {
    const dockerfile = 'FROM scratch\nCOPY foo /\n';
    const tar = tarOf([
      { name: 'Dockerfile', content: dockerfile },
      { name: 'foo', content: 'contents' },
    ]);
    const res = await build('-', [], tar);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('foo')).toBe('contents');
  });

  // BuildKit's test also scopes the upload to contextsubdir=sub/dir, a frontend attribute no CLI
  // sends for a stdin context, so the tar holds foo at its root here
  it('testTarContextExternalDockerfile: a tar on stdin, the Dockerfile a file of this machine', async () => {
    const dir = await tempDir('tsb-tarctx-');
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY foo bar\n');
    const res = await build('-', ['-f', join(dir, 'Dockerfile')], tarOf([{ name: 'foo', content: 'contents' }]));
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('bar')).toBe('contents');
  });

  async function testDockerfileFromGit(format: 'sha1' | 'sha256') {
    const gitDir = await tempDir('tsb-gitctx-');
    const sh = (cmd: string) => run('sh', ['-ec', cmd], { cwd: gitDir });
    let dockerfile = df(`
FROM busybox AS build
RUN echo -n fromgit > foo
FROM scratch
COPY --from=build foo bar
`);
    await writeFile(join(gitDir, 'Dockerfile'), dockerfile);
    await sh(
      `git init -q${format === 'sha256' ? ' --object-format=sha256' : ''} && git config --local user.email test && ` +
        'git config --local user.name test && git add Dockerfile && git commit -q -m initial && git branch first',
    );
    dockerfile += 'COPY --from=build foo bar2\n';
    await writeFile(join(gitDir, 'Dockerfile'), dockerfile);
    await sh('git add Dockerfile && git commit -q -m second && git update-server-info');
    const url = await serve(gitDir);

    const first = await build(`${url}/.git#first`);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(await first.read('bar')).toBe('fromgit');
    await expect(stat(join(first.out, 'bar2'))).rejects.toMatchObject({ code: 'ENOENT' });

    // second request from the default branch contains both files
    const second = await build(`${url}/.git`);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(await second.read('bar')).toBe('fromgit');
    expect(await second.read('bar2')).toBe('fromgit');
  }

  describe('testDockerfileFromGit (the body of testDockerfileFromGitSHA1 and testDockerfileFromGitSHA256)', () => {
    it('testDockerfileFromGitSHA1', () => testDockerfileFromGit('sha1'), 60_000);
    it('testDockerfileFromGitSHA256', () => testDockerfileFromGit('sha256'), 60_000);
  });

  it('testDockerfileFromHTTP: a tar at a URL, its Dockerfile named by -f', async () => {
    const tar = tarOf([
      { name: 'mydockerfile', content: 'FROM scratch\nCOPY foo bar\n', mode: 0o600 },
      { name: 'foo', content: 'foo-contents', mode: 0o600 },
    ]);
    const url = await serve({ '/myurl': tar });
    const res = await build(`${url}/myurl`, ['-f', 'mydockerfile']);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('bar')).toBe('foo-contents');
  });

  it('testHTTPDockerfile: a Dockerfile at a URL, whatever -f names', async () => {
    const dockerfile = df(`
FROM busybox
RUN echo -n "foo-contents" > /foo
FROM scratch
COPY --from=0 /foo /foo
`);
    const url = await serve({ '/df': dockerfile });
    // BuildKit: "this is bogus, any name should work"
    const res = await build(`${url}/df`, ['-f', 'mydockerfile']);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('foo')).toBe('foo-contents');
  });
});
