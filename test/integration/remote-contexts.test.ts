import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE, runCli, type CliResult } from '../helpers/build-fixture.js';
import { freePort } from '../helpers/ports.js';

const run = promisify(execFile);

/** Steps that ran (not served from the cache), by their `running:` line. */
const ran = (r: CliResult): string[] =>
  r.stderr.split('\n').filter((l) => / running: /.test(l) && !l.includes('base image layers'));
/** Steps served from the cache, the base image's `FROM` line (CACHED when its layers are there) left out. */
function cachedSteps(r: CliResult): number {
  const from = new Set([...r.stderr.matchAll(/^#(\d+) \[[^\]\n]*\] FROM /gm)].map((m) => m[1]));
  return [...r.stderr.matchAll(/^#(\d+) CACHED/gm)].filter((m) => !from.has(m[1])).length;
}

const DOCKERFILE = (msg: string) => `FROM ${FROM_BASE}\nCOPY . /ctx/\nRUN cat /ctx/${msg} > /seen\n`;

/**
 * Contexts that are not a local directory, as docker build takes them: stdin (a tar or a
 * Dockerfile), a git repository made here (file://, PATH#ref:subdir, a bare repository), and a
 * tarball served on 127.0.0.1. Each build writes its root filesystem with -o type=local.
 */
describe('build contexts from stdin, git and URLs', () => {
  let root: string;
  let state: string;
  let work: string;
  let bare: string;
  let server: Server;
  let base: string;
  const commits: Record<string, string> = {};
  let outputs = 0;

  const git = async (...args: string[]) =>
    (await run('git', ['-C', work, '-c', 'user.email=t@t', '-c', 'user.name=t', ...args])).stdout.trim();

  async function build(context: string, extra: string[] = [], input?: string | Buffer) {
    const out = join(root, `out-${outputs++}`);
    const r = await runCli(['build', '--progress=plain', '-o', `type=local,dest=${out}`, ...extra, context], {
      env: { TSBUILD_ROOT: state },
      ...(input !== undefined ? { input } : {}),
    });
    const read = (p: string) => readFile(join(out, p), 'utf8');
    const has = (p: string) =>
      stat(join(out, p)).then(
        () => true,
        () => false,
      );
    return { r, read, has };
  }

  /** Nothing of a fetched context is left in the state dir's scratch space. */
  async function scratchLeft(): Promise<string[]> {
    const owners = await readdir(join(state, 'tmp')).catch(() => [] as string[]);
    const left: string[] = [];
    for (const o of owners) left.push(...(await readdir(join(state, 'tmp', o)).catch(() => [] as string[])));
    return left.filter((n) => n.startsWith('context-'));
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-remote-ctx-'));
    state = join(root, 'state');
    work = join(root, 'work');
    bare = join(root, 'srv', 'repo.git');
    await run('git', ['init', '-q', '-b', 'main', work]);
    await mkdir(join(work, 'app'), { recursive: true });
    await writeFile(join(work, 'Dockerfile'), DOCKERFILE('app/msg'));
    await writeFile(join(work, 'app', 'Dockerfile'), DOCKERFILE('msg'));
    await writeFile(join(work, 'app', 'msg'), 'v1\n');
    await git('add', '-A');
    await git('commit', '-q', '-m', 'one');
    await git('tag', 'v1');
    commits.v1 = await git('rev-parse', 'HEAD');
    await git('checkout', '-q', '-b', 'feature');
    await writeFile(join(work, 'app', 'msg'), 'feature\n');
    await git('commit', '-q', '-am', 'feature');
    await git('checkout', '-q', 'main');
    await writeFile(join(work, 'app', 'msg'), 'v2\n');
    await git('commit', '-q', '-am', 'two');
    commits.main = await git('rev-parse', 'HEAD');
    await run('git', ['clone', '-q', '--bare', work, bare]);

    const tarSrc = join(root, 'tar-src');
    await mkdir(join(tarSrc, 'sub'), { recursive: true });
    await writeFile(join(tarSrc, 'Dockerfile'), DOCKERFILE('msg'));
    await writeFile(join(tarSrc, 'sub', 'Dockerfile.alt'), `FROM ${FROM_BASE}\nCOPY msg /alt\n`);
    await writeFile(join(tarSrc, 'msg'), 'from-tar\n');
    const tar = (await run('tar', ['-c', '-C', tarSrc, '.'], { encoding: 'buffer' })).stdout;
    const files: Record<string, Buffer> = {
      '/ctx.tar.gz': gzipSync(tar),
      '/ctx.tar': tar,
      '/Dockerfile': Buffer.from(`FROM ${FROM_BASE}\nRUN echo from-url > /seen\n`),
    };
    server = createServer((req, res) => {
      const body = files[req.url ?? ''];
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { etag: `"${body.length}"` }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    if (root) await rm(root, { recursive: true, force: true });
  });

  describe('stdin', () => {
    let tar: Buffer;
    beforeAll(async () => {
      const src = join(root, 'stdin-src');
      await mkdir(join(src, 'sub'), { recursive: true });
      await writeFile(join(src, 'Dockerfile'), DOCKERFILE('msg'));
      await writeFile(join(src, 'sub', 'Dockerfile.alt'), `FROM ${FROM_BASE}\nCOPY msg /alt\n`);
      await writeFile(join(src, 'msg'), 'from-stdin\n');
      tar = (await run('tar', ['-c', '-C', src, '.'], { encoding: 'buffer' })).stdout;
    });

    it('a plain tar is the context, and a rebuild from the same tar hits every step', async () => {
      const first = await build('-', [], tar);
      expect(first.r.exitCode, first.r.stderr).toBe(0);
      expect(await first.read('seen')).toBe('from-stdin\n');
      expect(await first.read('ctx/sub/Dockerfile.alt')).toContain('COPY msg /alt');
      const again = await build('-', [], tar);
      expect(again.r.exitCode, again.r.stderr).toBe(0);
      expect(ran(again.r)).toEqual([]);
      expect(cachedSteps(again.r)).toBe(2);
      expect(await scratchLeft()).toEqual([]);
    }, 120_000);

    it('a gzipped tar, with -f naming a Dockerfile inside it', async () => {
      const b = await build('-', ['-f', 'sub/Dockerfile.alt'], gzipSync(tar));
      expect(b.r.exitCode, b.r.stderr).toBe(0);
      expect(await b.read('alt')).toBe('from-stdin\n');
    }, 60_000);

    it('a Dockerfile alone builds with an empty context, as `docker build - < Dockerfile`', async () => {
      const b = await build('-', [], `FROM ${FROM_BASE}\nCOPY . /ctx/\n`);
      expect(b.r.exitCode, b.r.stderr).toBe(0);
      expect(await readdir(join(root, `out-${outputs - 1}`, 'ctx'))).toEqual([]);
    }, 60_000);

    it('stdin for both the context and the Dockerfile, and a missing context, are usage errors (exit 2)', async () => {
      const both = await build('-', ['-f', '-'], tar);
      expect(both.r.exitCode).toBe(2);
      expect(both.r.stderr).toContain('stdin cannot be both the build context and the Dockerfile');
      const missing = await build(join(root, 'no-such-dir'));
      expect(missing.r.exitCode).toBe(2);
      expect(missing.r.stderr).toMatch(/is not a directory, a git repository or an http\(s\) URL/);
    }, 30_000);
  });

  describe('git', () => {
    it('file:// with #tag:subdir, #commit:subdir, PATH#branch:subdir and a bare repository path', async () => {
      const tag = await build(`file://${work}#v1:app`);
      expect(tag.r.exitCode, tag.r.stderr).toBe(0);
      expect(await tag.read('seen')).toBe('v1\n');
      expect(await tag.has('ctx/msg')).toBe(true);

      const commit = await build(`file://${work}#${commits.v1}:app`);
      expect(commit.r.exitCode, commit.r.stderr).toBe(0);
      expect(await commit.read('seen')).toBe('v1\n');

      const branch = await build(`${work}#feature:app`);
      expect(branch.r.exitCode, branch.r.stderr).toBe(0);
      expect(await branch.read('seen')).toBe('feature\n');

      const barePath = await build(bare);
      expect(barePath.r.exitCode, barePath.r.stderr).toBe(0);
      expect(await barePath.read('seen')).toBe('v2\n');
      expect(await scratchLeft()).toEqual([]);
    }, 180_000);

    it('a rebuild from the same commit hits every step; .git stays out unless BUILDKIT_CONTEXT_KEEP_GIT_DIR=1', async () => {
      const first = await build(`file://${work}#main`);
      expect(first.r.exitCode, first.r.stderr).toBe(0);
      expect(await first.read('seen')).toBe('v2\n');
      expect(await first.has('ctx/.git')).toBe(false);
      expect(await first.has('ctx/app/msg')).toBe(true);
      const again = await build(`file://${work}#${commits.main}`);
      expect(again.r.exitCode, again.r.stderr).toBe(0);
      expect(ran(again.r)).toEqual([]);
      expect(cachedSteps(again.r)).toBe(2);

      const keep = await build(`file://${work}#main`, ['--build-arg', 'BUILDKIT_CONTEXT_KEEP_GIT_DIR=1']);
      expect(keep.r.exitCode, keep.r.stderr).toBe(0);
      expect(await keep.has('ctx/.git/HEAD')).toBe(true);
      // the step history follows the repository, so the miss is explained by what the checkout added
      expect(ran(keep.r).join('\n')).toMatch(/added: \.git/);
    }, 180_000);

    it('a ref or a subdir the repository lacks fails with what to do (exit 1)', async () => {
      const ref = await build(`file://${work}#no-such-branch`);
      expect(ref.r.exitCode).toBe(1);
      expect(ref.r.stderr).toContain('does not contain ref no-such-branch');
      expect(ref.r.stderr).toContain('hint: name a branch, a tag');
      const sub = await build(`file://${work}#v1:nope`);
      expect(sub.r.exitCode).toBe(1);
      expect(sub.r.stderr).toContain(`no directory nope in the repository at commit ${commits.v1}`);
      expect(await scratchLeft()).toEqual([]);
    }, 60_000);
  });

  describe('http(s) URLs', () => {
    it('a tarball is downloaded, extracted and built; a rebuild hits every step', async () => {
      const first = await build(`${base}/ctx.tar.gz`);
      expect(first.r.exitCode, first.r.stderr).toBe(0);
      expect(await first.read('seen')).toBe('from-tar\n');
      const again = await build(`${base}/ctx.tar.gz`);
      expect(again.r.exitCode, again.r.stderr).toBe(0);
      expect(ran(again.r)).toEqual([]);
      expect(cachedSteps(again.r)).toBe(2);
      const plain = await build(`${base}/ctx.tar`, ['-f', 'sub/Dockerfile.alt']);
      expect(plain.r.exitCode, plain.r.stderr).toBe(0);
      expect(await plain.read('alt')).toBe('from-tar\n');
      expect(await scratchLeft()).toEqual([]);
    }, 120_000);

    it('a URL to a plain file is the Dockerfile', async () => {
      const b = await build(`${base}/Dockerfile`);
      expect(b.r.exitCode, b.r.stderr).toBe(0);
      expect(await b.read('seen')).toBe('from-url\n');
    }, 60_000);

    it('a URL that answers 404, and one nothing answers, fail with what to do (exit 1)', async () => {
      const missing = await build(`${base}/nope.tar.gz`);
      expect(missing.r.exitCode).toBe(1);
      expect(missing.r.stderr).toMatch(/build context .*nope\.tar\.gz: cannot fetch .*404/);
      const closed = await build(`http://127.0.0.1:${await freePort()}/ctx.tar.gz`);
      expect(closed.r.exitCode).toBe(1);
      expect(closed.r.stderr).toMatch(/cannot fetch .*ECONNREFUSED|cannot fetch .*connect/);
      expect(closed.r.stderr).toContain('hint: check the URL');
    }, 30_000);
  });
});
