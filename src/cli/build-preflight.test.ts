import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../errors.js';
import { checkBuildEnvironment, requireRoot } from './build-preflight.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-preflight-'));
  await writeFile(join(dir, 'file'), 'x');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const failure = (env: NodeJS.ProcessEnv, euid = 0) =>
  checkBuildEnvironment(env, euid).then(
    () => undefined,
    (e: unknown) => e,
  );

describe('requireRoot', () => {
  it('passes root, and where there are no uids', () => {
    expect(() => requireRoot(0)).not.toThrow();
    expect(() => requireRoot(undefined)).not.toThrow();
  });

  it('refuses another user with an environment error that says what to do', () => {
    let err: unknown;
    try {
      requireRoot(1000);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EnvironmentError);
    expect(err).toMatchObject({
      message: expect.stringMatching(/^tsbuild needs to run as root for now \(this is uid 1000\)/),
      hint: expect.stringMatching(/sudo.*rootless mode is planned/),
    });
  });
});

describe('checkBuildEnvironment', () => {
  it('accepts the defaults and good settings', async () => {
    expect(await failure({})).toBeUndefined();
    expect(
      await failure({ TSBUILD_CACHE_MAX: '5GB', TSBUILD_ROOT: join(dir, 'new/state'), TSBUILD_RUNTIME_DIR: dir }),
    ).toBeUndefined();
  });

  it('refuses a non-root user before anything else', async () => {
    expect(await failure({ TSBUILD_CACHE_MAX: 'lots' }, 1000)).toMatchObject({
      message: expect.stringMatching(/needs to run as root/),
    });
  });

  it('a TSBUILD_CACHE_MAX that is not a size', async () => {
    const err = await failure({ TSBUILD_CACHE_MAX: 'lots' });
    expect(err).toBeInstanceOf(EnvironmentError);
    expect(err).toMatchObject({
      message: 'TSBUILD_CACHE_MAX=lots: not a size (e.g. 5GB, 500MB, 0 for no cap)',
      hint: expect.stringMatching(/unset it/),
    });
  });

  it('a TSBUILD_ROOT or TSBUILD_RUNTIME_DIR that is a file, or under one', async () => {
    const file = join(dir, 'file');
    expect(await failure({ TSBUILD_ROOT: file })).toMatchObject({ message: `TSBUILD_ROOT=${file} is not a directory` });
    const under = await failure({ TSBUILD_RUNTIME_DIR: join(file, 'run') });
    expect(under).toBeInstanceOf(EnvironmentError);
    expect(under).toMatchObject({
      message: `TSBUILD_RUNTIME_DIR=${file}/run is not a directory (a path above it is a file)`,
    });
  });
});
