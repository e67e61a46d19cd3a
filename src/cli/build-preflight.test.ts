import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../errors.js';
import type { BuildRequest } from '../pipeline/build-request.js';
import { userErrorOf } from '../../test/helpers/user-error.js';
import { checkBuildEnvironment, checkBuildRequest, requireRoot } from './build-preflight.js';

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
      message: expect.stringMatching(/^--isolation runc needs root \(this is uid 1000\)/),
      hint: expect.stringMatching(/sudo.*leave out --isolation runc to build rootless/),
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
      message: expect.stringMatching(/needs root/),
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

describe('checkBuildRequest', () => {
  const request = (over: Partial<BuildRequest> = {}): BuildRequest => ({
    contextDir: dir,
    tags: [],
    buildArgs: new Map(),
    noCache: false,
    outputs: [],
    progress: 'plain',
    stateRoot: join(dir, 'state'),
    ...over,
  });
  const noDocker = (): NodeJS.ProcessEnv => ({ PATH: join(dir, 'empty-bin') });

  it('passes good names, outputs and paths', async () => {
    await expect(
      checkBuildRequest(
        request({
          tags: ['app', 'localhost:5000/team/app:1.0', 'UPPER.example/x'],
          outputs: [
            { type: 'image', names: ['reg.example/app:2'], push: true },
            { type: 'oci', dest: join(dir, 'out.tar') },
            { type: 'tar', dest: '-' },
            { type: 'local', dest: join(dir, 'no/such/dir') },
          ],
          iidFile: join(dir, 'iid'),
          metadataFile: join(dir, 'meta.json'),
        }),
        noDocker(),
      ),
    ).resolves.toBeUndefined();
  });

  it("refuses a bad -t, a bad name= and a push with no name, in docker's words", async () => {
    const tag = await userErrorOf(checkBuildRequest(request({ tags: ['ok', 'Bad:Name'] }), noDocker()));
    expect(tag.message).toBe(
      'invalid argument "Bad:Name" for "-t, --tag" flag: invalid image reference "Bad:Name": repository name (library/Bad) must be lowercase',
    );
    const digest = await userErrorOf(
      checkBuildRequest(request({ tags: [`app@sha256:${'a'.repeat(64)}`] }), noDocker()),
    );
    expect(digest.message).toMatch(/cannot contain a digest/);
    const name = await userErrorOf(
      checkBuildRequest(request({ outputs: [{ type: 'image', names: ['app/UP'], push: true }] }), noDocker()),
    );
    expect(name.message).toMatch(/^invalid argument "app\/UP" for --output type=image,name=/);
    const nameless = await userErrorOf(
      checkBuildRequest(request({ outputs: [{ type: 'image', push: true }] }), noDocker()),
    );
    expect(nameless.message).toBe('--output type=image,push=true has no name to push to');
  });

  it('refuses --iidfile, --metadata-file and file outputs whose directory is missing or a file', async () => {
    const iid = await userErrorOf(checkBuildRequest(request({ iidFile: join(dir, 'none/iid') }), noDocker()));
    expect(iid.message).toBe(`--iidfile ${join(dir, 'none/iid')}: its directory ${join(dir, 'none')} does not exist`);
    const meta = await userErrorOf(checkBuildRequest(request({ metadataFile: join(dir, 'file/m.json') }), noDocker()));
    expect(meta.message).toBe(`--metadata-file ${join(dir, 'file/m.json')}: ${join(dir, 'file')} is not a directory`);
    const out = await userErrorOf(
      checkBuildRequest(request({ outputs: [{ type: 'docker', dest: join(dir, 'none/a.tar') }] }), noDocker()),
    );
    expect(out.message).toMatch(/^the docker output .*: its directory .* does not exist$/);
  });

  it('--load (type=docker without dest) needs docker on PATH: an environment error naming the alternatives', async () => {
    const err = await userErrorOf(checkBuildRequest(request({ outputs: [{ type: 'docker' }] }), noDocker()));
    expect(err).toBeInstanceOf(EnvironmentError);
    expect(err.message).toBe('--load needs the docker CLI, and docker is not installed (or not on PATH)');
    expect(err.hint).toMatch(/-o type=docker,dest=image\.tar.*tsbuild save.*--push/);
    const bin = join(dir, 'docker-bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'docker'), '#!/bin/sh\n');
    await chmod(join(bin, 'docker'), 0o755);
    await expect(checkBuildRequest(request({ outputs: [{ type: 'docker' }] }), { PATH: bin })).resolves.toBeUndefined();
  });
});
