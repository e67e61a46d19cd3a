/**
 * BuildKit's frontend/dockerfile/dockerfile_addgit_test.go, ported: ADD from a git repository served over
 * git's "dumb" HTTP protocol by a static file server (BuildKit's tests serve the work tree, `URL/.git`).
 * `alpine` is our busybox layout; `apk add git` has no counterpart, so `git status` checks become
 * checks that the .git directory is there.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { FROM_BASE } from '../helpers/build-fixture.js';
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
  it('testAddGitSHA1', () => testAddGit('sha1'), 120_000);

  it('testAddGitSHA256', () => testAddGit('sha256'), 120_000);

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
