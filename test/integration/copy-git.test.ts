import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, type Fixture } from '../helpers/build-fixture.js';
import { freePort, waitForPort } from '../helpers/ports.js';

const run = promisify(execFile);

/**
 * A repository served two ways on 127.0.0.1: `git daemon` (git://) and a static file server
 * over the bare repository (git's "dumb" HTTP protocol, as BuildKit's own tests serve one).
 */
class GitServers {
  root = '';
  work = '';
  bare = '';
  gitUrl = '';
  httpUrl = '';
  private daemon: ChildProcess | undefined;
  private http: Server | undefined;

  async git(...args: string[]): Promise<string> {
    return (await run('git', ['-C', this.work, '-c', 'user.email=t@t', '-c', 'user.name=t', ...args])).stdout.trim();
  }

  /** Commits the files given (path → content), tags it when asked, and publishes to both servers. */
  async commit(files: Record<string, string>, message: string, tag?: string): Promise<string> {
    for (const [p, c] of Object.entries(files)) {
      await mkdir(join(this.work, p, '..'), { recursive: true });
      await writeFile(join(this.work, p), c);
    }
    await this.git('add', '-A');
    await this.git('commit', '-q', '-m', message);
    if (tag) await this.git('tag', tag);
    await this.git('push', '-q', '--force', '--tags', this.bare, 'main');
    await run('git', ['-C', this.bare, 'update-server-info']);
    return this.git('rev-parse', 'HEAD');
  }

  async start(): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), 'tsbuild-git-'));
    this.work = join(this.root, 'work');
    this.bare = join(this.root, 'srv', 'repo.git');
    await run('git', ['init', '-q', '-b', 'main', this.work]);
    await run('git', ['init', '-q', '--bare', '-b', 'main', this.bare]);
    const port = await freePort();
    this.daemon = spawn(
      'git',
      [
        'daemon',
        '--reuseaddr',
        '--export-all',
        `--base-path=${join(this.root, 'srv')}`,
        '--listen=127.0.0.1',
        `--port=${port}`,
      ],
      { stdio: 'ignore' },
    );
    await waitForPort(port, 'no git daemon');
    this.gitUrl = `git://127.0.0.1:${port}/repo.git`;
    const base = join(this.root, 'srv');
    this.http = createServer(async (req, res) => {
      const path = normalize(join(base, decodeURIComponent((req.url ?? '/').split('?')[0]!)));
      if (!path.startsWith(base)) return void res.writeHead(403).end();
      try {
        res.writeHead(200).end(await readFile(path));
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => this.http!.listen(0, '127.0.0.1', r));
    this.httpUrl = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}/repo.git`;
  }

  async stop(): Promise<void> {
    this.daemon?.kill();
    await new Promise<void>((r) => (this.http ? this.http.close(() => r()) : r()));
    await rm(this.root, { recursive: true, force: true });
  }
}

describe('ADD from git repositories', () => {
  const repo = new GitServers();
  const commits: Record<string, string> = {};
  let fx: Fixture;

  beforeAll(async () => {
    await repo.start();
    commits.v1 = await repo.commit(
      { README: 'v1\n', 'docs/guide.md': 'guide v1\n', 'docs/img/a.txt': 'a\n' },
      'v1',
      'v1',
    );
    commits.v2 = await repo.commit({ README: 'v2\n' }, 'v2');
  });
  afterAll(async () => {
    await fx?.cleanup();
    await repo.stop();
  });

  it("copies a ref's tree or a directory of it, over git:// and dumb http, with --keep-git-dir", async () => {
    fx = await makeFixture({
      Dockerfile:
        [
          `FROM ${FROM_BASE}`,
          `ADD ${repo.httpUrl}#v1:docs /docs/`,
          `ADD ${repo.gitUrl} /head`,
          `ADD --keep-git-dir=true ${repo.gitUrl}#v1 /kept/`,
          `ADD --checksum=${commits.v1!.slice(0, 10)} ${repo.httpUrl}?tag=v1&subdir=docs/img /img/`,
        ].join('\n') + '\n',
    });
    const res = await fx.build();
    expect(res.exitCode, res.stderr).toBe(0);
    const img = await fx.unpack();
    expect(await img.read('/docs/guide.md')).toBe('guide v1\n');
    expect(await img.exists('/docs/README')).toBe(false);
    expect(await img.exists('/docs/.git')).toBe(false);
    expect(await img.read('/head/README')).toBe('v2\n');
    expect(await img.exists('/head/.git')).toBe(false);
    const guide = await img.stat('/docs/guide.md');
    expect([guide.mode, guide.uid, guide.gid]).toEqual([0o644, 0, 0]);
    expect(await img.read('/kept/README')).toBe('v1\n');
    expect(await img.read('/kept/.git/HEAD')).toBe(`${commits.v1}\n`);
    expect(await img.read('/img/a.txt')).toBe('a\n');
  });

  it('is cached while the refs point at the same commits; a new commit on the branch re-runs it', async () => {
    const again = await fx.build();
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/#\d+ running/);
    commits.v3 = await repo.commit({ README: 'v3\n' }, 'v3');
    const moved = await fx.build();
    expect(moved.exitCode, moved.stderr).toBe(0);
    expect(moved.stderr).toMatch(/#\d+ \[stage-0 3\/5\] ADD git:\/\/.*\n#\d+ running/);
    expect(moved.stderr).not.toMatch(/#\d+ \[stage-0 2\/5\] ADD http:\/\/.*\n#\d+ running/);
    expect(await (await fx.unpack()).read('/head/README')).toBe('v3\n');
  });

  it("a checksum that is not the ref's commit, or a ref that does not exist, fails at the ADD line", async () => {
    const bad = await makeFixture({
      Dockerfile: `FROM ${FROM_BASE}\nADD --checksum=${commits.v2} ${repo.gitUrl}#v1 /x/\n`,
    });
    try {
      const res = await bad.build();
      expect(res.exitCode).toBe(1);
      expect(res.stderr).toMatch(/Dockerfile:2:1: .*expected checksum to match/);
    } finally {
      await bad.cleanup();
    }
    const missing = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nADD ${repo.httpUrl}#nope /x/\n` });
    try {
      const res = await missing.build();
      expect(res.exitCode).toBe(1);
      expect(res.stderr).toMatch(/Dockerfile:2:1: .*does not contain ref nope/);
    } finally {
      await missing.cleanup();
    }
  });
});
