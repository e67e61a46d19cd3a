import { statfsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMemoryBacked, isOwnPrivateDir, secretsDir } from './secrets-dir.js';
import { StatePaths } from '../store/state-paths.js';

function shmIsTmpfs(): boolean {
  try {
    return statfsSync('/dev/shm').type === 0x01021994;
  } catch {
    return false;
  }
}

describe('secretsDir', () => {
  let dir: string;
  const saved = process.env.TSBUILD_RUNTIME_DIR;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-secrets-dir-'));
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.TSBUILD_RUNTIME_DIR;
    else process.env.TSBUILD_RUNTIME_DIR = saved;
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(!shmIsTmpfs())(
    'uses /dev/shm when the runtime dir is on a disk, and not a dir someone else put there',
    async () => {
      process.env.TSBUILD_RUNTIME_DIR = join(dir, 'run');
      const squatted = new StatePaths(join(dir, 'state-a'));
      await symlink(dir, squatted.shmTmpRoot);
      try {
        expect(await isOwnPrivateDir(squatted.shmTmpRoot)).toBe(false);
        const fallback = await secretsDir(squatted);
        expect(fallback).toEqual({ dir: squatted.tmp, memory: false });
      } finally {
        await rm(squatted.shmTmpRoot, { force: true });
      }

      const paths = new StatePaths(join(dir, 'state-b'));
      try {
        const chosen = await secretsDir(paths);
        if (!(await isMemoryBacked(paths.runtimeTmp))) expect(chosen).toEqual({ dir: paths.shmTmp, memory: true });
        expect(await isOwnPrivateDir(paths.shmTmpRoot)).toBe(true);
      } finally {
        await rm(paths.shmTmpRoot, { recursive: true, force: true });
      }
    },
  );

  it('tells a private dir from an open one', async () => {
    await mkdir(join(dir, 'open'), { mode: 0o755 });
    await mkdir(join(dir, 'private'), { mode: 0o700 });
    expect(await isOwnPrivateDir(join(dir, 'open'))).toBe(false);
    expect(await isOwnPrivateDir(join(dir, 'private'))).toBe(true);
    expect(await isOwnPrivateDir(join(dir, 'absent'))).toBe(false);
  });
});
