import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/build-fixture.js';

/**
 * bin/tsbuild tunes the memory of the node process it starts (V8's semi-space, glibc's mmap
 * threshold: peak RSS of a cold build, issue 16), and none of it reaches the children.
 */
describe('bin/tsbuild memory tuning', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsb-launcher-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const baseEnv = (): NodeJS.ProcessEnv => {
    const env = { ...process.env };
    delete env.MALLOC_MMAP_THRESHOLD_;
    delete env.TSBUILD_MALLOC_TUNED;
    return env;
  };

  it('starts node with --max-semi-space-size=2 and the mmap threshold, keeping one the user set', async () => {
    // a stand-in node on PATH that reports what the launcher gave it
    const bin = join(dir, 'fake');
    await mkdir(bin);
    await writeFile(
      join(bin, 'node'),
      '#!/bin/sh\necho "args=$*"\necho "mmap=${MALLOC_MMAP_THRESHOLD_-unset} tuned=${TSBUILD_MALLOC_TUNED-unset}"\n',
    );
    await chmod(join(bin, 'node'), 0o755);
    await copyFile(join(REPO_ROOT, 'bin', 'tsbuild'), join(bin, 'tsbuild'));
    const run = (env: NodeJS.ProcessEnv) =>
      execFileSync('sh', [join(bin, 'tsbuild'), '--version'], {
        env: { ...env, PATH: `${bin}:${process.env.PATH}` },
        encoding: 'utf8',
      });
    const out = run(baseEnv());
    expect(out).toContain(`args=--max-semi-space-size=2 ${join(bin, 'tsbuild.cjs')} --version`);
    expect(out).toContain('mmap=131072 tuned=1');
    expect(run({ ...baseEnv(), MALLOC_MMAP_THRESHOLD_: '65536' })).toContain('mmap=65536 tuned=unset');
  });

  it('takes the threshold it set out of the environment its children get, and only that one', async () => {
    const preload = join(dir, 'report-env.cjs');
    const report = (env: NodeJS.ProcessEnv) => {
      return execFileSync(process.execPath, ['-r', preload, join(REPO_ROOT, 'bin', 'tsbuild.cjs'), '--version'], {
        env,
        encoding: 'utf8',
      });
    };
    await writeFile(
      preload,
      "process.on('exit', () => process.stdout.write(`\\nmmap=${process.env.MALLOC_MMAP_THRESHOLD_ ?? 'unset'} tuned=${process.env.TSBUILD_MALLOC_TUNED ?? 'unset'}\\n`));\n",
    );
    expect(report({ ...baseEnv(), MALLOC_MMAP_THRESHOLD_: '131072', TSBUILD_MALLOC_TUNED: '1' })).toContain(
      'mmap=unset tuned=unset',
    );
    expect(report({ ...baseEnv(), MALLOC_MMAP_THRESHOLD_: '65536' })).toContain('mmap=65536 tuned=unset');
  });
});
