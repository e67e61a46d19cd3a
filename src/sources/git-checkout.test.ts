import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitForPort } from '../../test/helpers/ports.js';
import { EnvironmentError } from '../errors.js';
import { checkoutGit, resolveGitRef } from './git-checkout.js';
import { userErrorOf } from '../../test/helpers/user-error.js';

const run = promisify(execFile);

let tmp: string;
let repo: string;
const commits: Record<string, string> = {};

async function git(...args: string[]): Promise<string> {
  return (await run('git', ['-C', repo, '-c', 'user.email=t@t', '-c', 'user.name=t', ...args])).stdout.trim();
}

let daemon: ChildProcess | undefined;
let daemonUrl: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-git-test-'));
  repo = join(tmp, 'repo.git');
  await run('git', ['init', '-q', '-b', 'main', repo]);
  await writeFile(join(repo, 'foo'), 'foo of v1\n');
  await git('add', 'foo');
  await git('commit', '-q', '-m', 'v1');
  await git('tag', 'v1');
  commits.v1 = await git('rev-parse', 'HEAD');
  await mkdir(join(repo, 'sub'));
  await writeFile(join(repo, 'sub/run.sh'), '#!/bin/sh\n');
  await run('chmod', ['755', join(repo, 'sub/run.sh')]);
  await symlink('run.sh', join(repo, 'sub/link'));
  await writeFile(join(repo, 'foo'), 'foo of v2\n');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'v2');
  await git('tag', '-a', '-m', 'annotated', 'v2');
  commits.v2 = await git('rev-parse', 'HEAD');
  await git('checkout', '-q', '-b', 'feature');
  await writeFile(join(repo, 'foo'), 'foo of feature\n');
  await git('commit', '-q', '-am', 'feature');
  commits.feature = await git('rev-parse', 'HEAD');
  await git('checkout', '-q', 'main');
  const port = await freePort();
  daemon = spawn(
    'git',
    ['daemon', '--reuseaddr', '--export-all', `--base-path=${tmp}`, '--listen=127.0.0.1', `--port=${port}`, tmp],
    { stdio: 'ignore' },
  );
  await waitForPort(port);
  daemonUrl = `git://127.0.0.1:${port}/repo.git`;
});
afterAll(async () => {
  daemon?.kill();
  await rm(tmp, { recursive: true, force: true });
});

describe('resolveGitRef', () => {
  it('without git installed: an environment error saying what to install', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const err = await resolveGitRef({ remote: repo, ref: 'v1' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect(err).toMatchObject({
        message: expect.stringMatching(/needs the git program/),
        hint: 'apt-get install git',
      });
    } finally {
      process.env.PATH = path;
    }
  });

  it('resolves branches, tags (annotated ones to their commit), full refs and the default branch', async () => {
    expect(await resolveGitRef({ remote: repo, ref: 'v1' })).toEqual({ commit: commits.v1, refName: 'refs/tags/v1' });
    expect((await resolveGitRef({ remote: repo, ref: 'v2' })).commit).toBe(commits.v2);
    expect(await resolveGitRef({ remote: repo, ref: 'feature' })).toEqual({
      commit: commits.feature,
      refName: 'refs/heads/feature',
    });
    expect((await resolveGitRef({ remote: repo, ref: 'refs/heads/feature' })).commit).toBe(commits.feature);
    expect(await resolveGitRef({ remote: repo })).toEqual({ commit: commits.v2 });
  });

  it('takes a full commit hash without asking the remote', async () => {
    expect(await resolveGitRef({ remote: '/nonexistent/repo', ref: commits.v1! })).toEqual({ commit: commits.v1 });
  });

  it('checks the commit against --checksum', async () => {
    expect((await resolveGitRef({ remote: repo, ref: 'v1', checksum: commits.v1!.slice(0, 8) })).commit).toBe(
      commits.v1,
    );
    const err = await userErrorOf(resolveGitRef({ remote: repo, ref: 'v1', checksum: commits.v2! }));
    expect(err.message).toMatch(/^expected checksum to match/);
  });

  it('a missing ref or repository is a UserError', async () => {
    expect((await userErrorOf(resolveGitRef({ remote: repo, ref: 'nope' }))).message).toMatch(
      /does not contain ref nope/,
    );
    expect((await userErrorOf(resolveGitRef({ remote: join(tmp, 'missing.git'), ref: 'v1' }))).message).toMatch(
      /git ls-remote .*missing\.git failed/,
    );
  });
});

describe('checkoutGit', () => {
  it('checks out a commit from git daemon, modes and links as committed, without .git', async () => {
    const res = await resolveGitRef({ remote: daemonUrl, ref: 'v2' });
    const dir = join(tmp, 'co1');
    await checkoutGit(daemonUrl, res, dir, { keepGitDir: false });
    expect((await readdir(dir)).sort()).toEqual(['foo', 'sub']);
    expect(await readFile(join(dir, 'foo'), 'utf8')).toBe('foo of v2\n');
    expect((await lstat(join(dir, 'sub/run.sh'))).mode & 0o777).toBe(0o755);
    expect((await lstat(join(dir, 'foo'))).mode & 0o777).toBe(0o644);
    expect(await readlink(join(dir, 'sub/link'))).toBe('run.sh');
  });

  it('keeps a clean .git at that commit with --keep-git-dir', async () => {
    const res = await resolveGitRef({ remote: daemonUrl, ref: 'feature' });
    const dir = join(tmp, 'co2');
    await checkoutGit(daemonUrl, res, dir, { keepGitDir: true });
    expect((await run('git', ['-C', dir, 'rev-parse', 'HEAD'])).stdout.trim()).toBe(commits.feature);
    expect((await run('git', ['-C', dir, 'status', '--porcelain'])).stdout).toBe('');
    expect((await run('git', ['-C', dir, 'remote', 'get-url', 'origin'])).stdout.trim()).toBe(daemonUrl);
  });

  it('fetches a commit that no ref points at any more by its hash', async () => {
    const dir = join(tmp, 'co3');
    await checkoutGit(repo, { commit: commits.v1! }, dir, { keepGitDir: false });
    expect(await readFile(join(dir, 'foo'), 'utf8')).toBe('foo of v1\n');
  });
});
