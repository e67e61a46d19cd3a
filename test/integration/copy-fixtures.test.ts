import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_LAYOUT, REPO_ROOT, runCli, unpackArchive } from '../helpers/build-fixture.js';

const run = promisify(execFile);

/** scripts/tree-manifest.mjs over a rootfs: one line per path (type, mode, owner, size, content, link). */
async function listing(rootfs: string): Promise<string[]> {
  const { stdout } = await run('node', [join(REPO_ROOT, 'scripts/tree-manifest.mjs'), rootfs], { maxBuffer: 1 << 26 });
  return stdout.split('\n').filter(Boolean);
}

/**
 * fixtures/copy-basics and fixtures/copy-archives, built by tsbuild and checked file by file
 * against the listing dockerd's BuildKit produced for them (expected-files.txt, which notes the
 * places where current BuildKit, and tsbuild, deliberately differ from that 0.8 BuildKit).
 */
describe("COPY/ADD fixtures match BuildKit's images", () => {
  let dir: string;
  let basePaths: Set<string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-copy-fixtures-'));
    await run('umoci', ['unpack', '--image', `${BASE_LAYOUT}:latest`, join(dir, 'base')]);
    basePaths = new Set((await listing(join(dir, 'base', 'rootfs'))).map((l) => l.split(' ')[0]!));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  for (const fixture of ['copy-basics', 'copy-archives']) {
    it(fixture, async () => {
      const archive = join(dir, `${fixture}.tar`);
      const res = await runCli(
        ['--progress=plain', '-t', `${fixture}:latest`, '-o', `type=oci,dest=${archive}`, `fixtures/${fixture}`],
        { env: { TSBUILD_ROOT: join(dir, 'state') } },
      );
      expect(res.exitCode, res.stderr).toBe(0);
      const img = await unpackArchive(archive, join(dir, `unpacked-${fixture}`));
      const added = (await listing(img.rootfs)).filter((l) => !basePaths.has(l.split(' ')[0]!));
      const expected = (await readFile(join(REPO_ROOT, 'fixtures', fixture, 'expected-files.txt'), 'utf8'))
        .split('\n')
        .filter((l) => l && !l.startsWith('#'));
      expect(added.join('\n')).toBe(expected.join('\n'));
    });
  }
});
