import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { DEFAULT_PATH, mergeEnv, processConfig, type RunProcessOptions } from './run-config.js';

const opts = (o: Partial<RunProcessOptions> = {}): RunProcessOptions => ({
  cmd: [],
  env: [],
  tty: false,
  hostname: 'abc123',
  ...o,
});

describe('processConfig (docker run over an image config)', () => {
  const image = {
    Entrypoint: ['/entry', '--flag'],
    Cmd: ['default', 'args'],
    Env: ['PATH=/image/bin', 'A=image', 'B=image'],
    WorkingDir: '/srv',
    User: 'app',
  };

  it("runs the image's entrypoint and cmd, in its workdir, as its user", () => {
    expect(processConfig(image, opts())).toEqual({
      args: ['/entry', '--flag', 'default', 'args'],
      env: ['PATH=/image/bin', 'HOSTNAME=abc123', 'A=image', 'B=image'],
      cwd: '/srv',
      user: 'app',
    });
  });

  it('arguments after the image replace Cmd and keep the entrypoint', () => {
    expect(processConfig(image, opts({ cmd: ['x', 'y'] })).args).toEqual(['/entry', '--flag', 'x', 'y']);
  });

  it("--entrypoint replaces the image's entrypoint and drops its Cmd", () => {
    expect(processConfig(image, opts({ entrypoint: 'sh' })).args).toEqual(['sh']);
    expect(processConfig(image, opts({ entrypoint: 'sh', cmd: ['-c', 'true'] })).args).toEqual(['sh', '-c', 'true']);
  });

  it("--entrypoint '' clears it: the command is what follows the image", () => {
    expect(processConfig(image, opts({ entrypoint: '', cmd: ['ls', '/'] })).args).toEqual(['ls', '/']);
    expect(() => processConfig(image, opts({ entrypoint: '' }))).toThrow(UserError);
  });

  it('an image without entrypoint runs Cmd, and one with neither needs a command', () => {
    expect(processConfig({ Cmd: ['sh'] }, opts()).args).toEqual(['sh']);
    expect(processConfig({ Entrypoint: null, Cmd: null }, opts({ cmd: ['id'] })).args).toEqual(['id']);
    expect(() => processConfig({}, opts())).toThrow('No command specified');
  });

  it('-e overrides the image env, a bare name removes it; PATH, HOSTNAME and TERM come first', () => {
    const { env } = processConfig(image, opts({ env: ['A=flag', 'C=new', 'B', 'HOSTNAME=mine'], tty: true }));
    expect(env).toEqual(['PATH=/image/bin', 'HOSTNAME=mine', 'TERM=xterm', 'A=flag', 'C=new']);
    expect(processConfig({ Cmd: ['x'] }, opts()).env).toEqual([DEFAULT_PATH, 'HOSTNAME=abc123']);
  });

  it('-w and -u win over the image; root and / without either', () => {
    expect(processConfig(image, opts({ workdir: '/tmp', user: '0:0' }))).toMatchObject({ cwd: '/tmp', user: '0:0' });
    expect(processConfig({ Cmd: ['x'] }, opts())).toMatchObject({ cwd: '/', user: '' });
  });
});

describe('mergeEnv', () => {
  it('keeps the position of a replaced variable and splits at the first =', () => {
    expect(mergeEnv(['A=1', 'B=2'], ['A=x=y', 'D=4'])).toEqual(['A=x=y', 'B=2', 'D=4']);
  });
});
