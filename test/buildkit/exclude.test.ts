/**
 * BuildKit's frontend/dockerfile/exclude_patterns_test.go, ported against our CLI: COPY/ADD
 * --exclude from a plain directory context, then from a git repository served over dumb HTTP.
 */
import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/build-fixture.js';

const run = promisify(execFile);
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

async function srcDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsb-exclude-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const files: Record<string, string> = {
    'dir1/file-101.png': '2',
    'dir1/file-102.txt': '3',
    'dir1/file-103.jpeg': '4',
    'dir2/file-201.pdf': '6',
    'dir2/file-202.jpeg': '7',
    'dir2/file-203.png': '8',
    'dir3/file-301.mp3': '9',
    'dir3/file-302.mpeg': '10',
    'dir4/file-401.txt': '11',
  };
  for (const d of ['dir1', 'dir2', 'dir3', 'dir4']) await mkdir(join(dir, d));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  await symlink('file-401.txt', join(dir, 'dir4/file-402.txt'));
  await symlink('file-404.txt', join(dir, 'dir4/file-403.txt'));
  return dir;
}

/** [path, expected content or link target; undefined = excluded] */
const CASES: [string, string | undefined][] = [
  // Files copied with COPY command
  ['builder1/1/dir1/file-101.png', undefined],
  ['builder1/1/dir1/file-102.txt', '3'],
  ['builder1/1/dir1/file-103.jpeg', undefined],
  ['builder1/1/dir2/file-201.pdf', '6'],
  ['builder1/1/dir2/file-202.jpeg', undefined],
  ['builder1/1/dir2/file-203.png', undefined],
  ['builder1/1/dir3/file-301.mp3', '9'],
  ['builder1/1/dir3/file-302.mpeg', '10'],
  ['builder1/1/dir4/file-401.txt', '11'],
  ['builder1/1/dir4/file-402.txt', 'file-401.txt'],
  ['builder1/1/dir4/file-403.txt', 'file-404.txt'],
  // files copied with COPY command
  ['builder2/2/dir1/file-101.png', '2'],
  ['builder2/2/dir1/file-102.txt', undefined],
  ['builder2/2/dir1/file-103.jpeg', '4'],
  ['builder2/2/dir2/file-201.pdf', undefined],
  ['builder2/2/dir2/file-202.jpeg', '7'],
  ['builder2/2/dir2/file-203.png', '8'],
  ['builder2/2/dir3/file-301.mp3', '9'],
  ['builder2/2/dir3/file-302.mpeg', '10'],
  ['builder2/2/dir4/file-401.txt', undefined],
  ['builder2/2/dir4/file-402.txt', undefined],
  ['builder2/2/dir4/file-403.txt', undefined],
  // Files copied with ADD command
  ['builder3/3/file-301.mp3', undefined],
  ['builder3/3/file-302.mpeg', '10'],
  // Files copied with COPY wildcard
  ['builder4/4/file-101.png', undefined],
  ['builder4/4/file-102.txt', undefined],
  ['builder4/4/file-103.jpeg', undefined],
  ['builder4/4/file-201.pdf', undefined],
  ['builder4/4/file-202.jpeg', undefined],
  ['builder4/4/file-203.png', undefined],
  ['builder4/4/file-301.mp3', undefined],
  ['builder4/4/file-302.mpeg', '10'],
  ['builder4/4/dir4/file-401.txt', undefined],
  ['builder4/4/dir4/file-402.txt', undefined],
  ['builder4/4/dir4/file-403.txt', undefined],
  // Files copied with ADD wildcard
  ['builder5/5/file-101.png', undefined],
  ['builder5/5/file-102.txt', '3'],
  ['builder5/5/file-103.jpeg', undefined],
  ['builder5/5/file-201.pdf', undefined],
  ['builder5/5/file-202.jpeg', undefined],
  ['builder5/5/file-203.png', undefined],
  ['builder5/5/file-301.mp3', undefined],
  ['builder5/5/file-302.mpeg', undefined],
  ['builder5/5/file-401.txt', '11'],
  ['builder5/5/file-402.txt', 'file-401.txt'],
  ['builder5/5/file-403.txt', 'file-404.txt'],
];

const FINAL = `
FROM scratch
COPY --from=builder1 / /builder1
COPY --from=builder2 / /builder2
COPY --from=builder3 / /builder3
COPY --from=builder4 / /builder4
COPY --from=builder5 / /builder5
COPY --from=builder6 / /builder6
`;

/** Builds `dockerfile` (in a dir of its own, as the Go test's Dockerfile mount) with `context`; checks CASES. */
async function runTest(dockerfile: string, context: string) {
  const dir = await mkdtemp(join(tmpdir(), 'tsb-exclude-df-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'Dockerfile'), dockerfile);
  const out = join(dir, 'out');
  const res = await runCli(
    [
      '--progress=plain',
      '-f',
      join(dir, 'Dockerfile'),
      '-o',
      `type=local,dest=${out}`,
      '--allow',
      `fs.read=${dir}`,
      context,
    ],
    { env: { TSBUILD_ROOT: join(dir, 'state') } },
  );
  expect(res.exitCode, res.stderr).toBe(0);
  for (const [name, expected] of CASES) {
    const path = join(out, name);
    const st = await lstat(path).catch(() => undefined);
    if (expected === undefined) {
      expect(st, `${name} should not exist`).toBeUndefined();
      continue;
    }
    expect(st, `${name} should exist`).toBeDefined();
    const got = st!.isSymbolicLink() ? await readlink(path) : await readFile(path, 'utf8');
    expect(got, name).toBe(expected);
  }
  // As all files are excluded, the directory must be empty
  expect(await readdir(join(out, 'builder6/6'))).toEqual([]);
}

describe('BuildKit --exclude (exclude_patterns_test.go)', () => {
  it('testExcludedFilesOnCopy', async () => {
    const src = await srcDir();
    // First, test with reading from a plain directory
    await runTest(
      `
# ignore all the image files
FROM scratch as builder1
COPY --exclude=*/*.png --exclude=*/*.jpeg . /1

# ignore all document files
FROM scratch as builder2
COPY --exclude=*/*.pdf --exclude=*/*.txt . /2

# ignore all mp3 files
FROM scratch as builder3
ADD --exclude=*.mp3 dir3/ /3/

# Ignore everything, keeping only .mpeg files, using src as a wildcard.
FROM scratch as builder4
COPY --exclude=*.mp3 --exclude=*.jpeg --exclude=*.png --exclude=*.pdf --exclude=*.txt dir* /4/

# Ignore everything, keeping only txt files.
FROM scratch as builder5
ADD --exclude=*.mp* --exclude=*.jpeg --exclude=*.png --exclude=*.pdf dir* /5

# Exclude all files.
FROM scratch as builder6
ADD --exclude=* dir* /6
${FINAL}`,
      src,
    );

    // Load context from a git repository served over dumb HTTP
    const sh = (cmd: string) => run('sh', ['-ec', cmd], { cwd: src });
    await sh(
      'git init -q && git config --local user.email test && git config --local user.name test && git add * && git commit -q -m 0.1 && git tag 0.1 && git update-server-info',
    );
    const server: Server = createServer(async (req, res) => {
      const path = normalize(join(src, decodeURIComponent((req.url ?? '/').split('?')[0]!)));
      if (!path.startsWith(src)) return void res.writeHead(403).end();
      try {
        res.writeHead(200).end(await readFile(path));
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const empty = await mkdtemp(join(tmpdir(), 'tsb-exclude-ctx-'));
    cleanups.push(() => rm(empty, { recursive: true, force: true }));
    await runTest(
      `
FROM scratch AS base
ARG REPO="${url}/.git"
ARG TAG="0.1"
ADD --keep-git-dir=true \${REPO}#\${TAG} /

FROM scratch as builder1
COPY --from=base --exclude=*/*.png --exclude=*/*.jpeg . /1

FROM scratch as builder2
COPY --from=base --exclude=*/*.pdf --exclude=*/*.txt . /2

FROM scratch as builder3
COPY --from=base --exclude=*.mp3 dir3/ /3/

FROM scratch as builder4
COPY --from=base --exclude=*.mp3 --exclude=*.jpeg --exclude=*.png --exclude=*.pdf --exclude=*.txt dir* /4/

FROM scratch as builder5
COPY --from=base --exclude=*.mp* --exclude=*.jpeg --exclude=*.png --exclude=*.pdf dir* /5

FROM scratch as builder6
COPY --from=base --exclude=* dir* /6
${FINAL}`,
      empty,
    );
  });
});
