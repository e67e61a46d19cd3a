import { describe, expect, it } from 'vitest';
import {
  asEnvironmentError,
  EnvironmentError,
  isUserError,
  stacksWithCauses,
  UserError,
  withLocation,
  withPrefix,
  asUsageError,
  UsageError,
} from './errors.js';

function errno(code: string, message = code): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code, path: '/state/x' });
}

describe('asEnvironmentError', () => {
  it('turns a full disk into an environment error that says what to do', () => {
    const e = asEnvironmentError(errno('ENOSPC'), 'writing the OCI archive app.tar');
    expect(e).toBeInstanceOf(EnvironmentError);
    expect(isUserError(e)).toBe(true);
    expect((e as EnvironmentError).message).toBe('writing the OCI archive app.tar: no space left on device');
    expect((e as EnvironmentError).hint).toMatch(/prune/);
    expect((e as EnvironmentError).cause).toBeDefined();
  });

  it('names the path when the caller did not say what failed', () => {
    expect((asEnvironmentError(errno('EDQUOT')) as Error).message).toBe('disk quota exceeded (/state/x)');
  });

  it('leaves bugs and user errors as they are', () => {
    const bug = errno('EBADF');
    expect(asEnvironmentError(bug)).toBe(bug);
    const user = new UserError('bad');
    expect(asEnvironmentError(user)).toBe(user);
    const plain = new TypeError('x is undefined');
    expect(asEnvironmentError(plain)).toBe(plain);
  });
});

describe('withLocation', () => {
  const at = { file: 'Dockerfile', line: 3, column: 1, excerpt: 'COPY a b' };

  it('locates an unlocated user error, keeping message, hint, detail and the original as cause', () => {
    const original = new UserError('bad mode', { hint: 'use 0755', detail: '  more', cause: new Error('root') });
    const e = withLocation(original, at) as UserError;
    expect(e).toBeInstanceOf(UserError);
    expect(e).not.toBeInstanceOf(EnvironmentError);
    expect(e).toMatchObject({ message: 'bad mode', hint: 'use 0755', detail: '  more', location: at });
    expect(e.cause).toBe(original);
  });

  it('keeps an environment error one, and prefixes the message when asked', () => {
    const e = withLocation(new EnvironmentError('getfattr is not installed', { hint: 'apt-get install attr' }), at, {
      prefix: '[stage-0 2/3] COPY a b: ',
    });
    expect(e).toBeInstanceOf(EnvironmentError);
    expect(e).toMatchObject({
      message: '[stage-0 2/3] COPY a b: getfattr is not installed',
      hint: 'apt-get install attr',
      location: at,
    });
  });

  it('leaves located errors, bugs, and errors without a place to put them as they are', () => {
    const located = new UserError('x', { location: { file: 'Dockerfile', line: 1, column: 1 } });
    expect(withLocation(located, at)).toBe(located);
    const bug = new TypeError('x is undefined');
    expect(withLocation(bug, at)).toBe(bug);
    const user = new UserError('y');
    expect(withLocation(user, undefined)).toBe(user);
  });
});

describe('withPrefix', () => {
  it('says what was being done, keeping class, location, hint, detail and the original as cause', () => {
    const at = { file: 'Dockerfile', line: 2, column: 1 };
    const full = new EnvironmentError('no space left on device', { hint: 'free some space', location: at });
    const e = withPrefix(full, 'cannot export the cache to /c: ') as EnvironmentError;
    expect(e).toBeInstanceOf(EnvironmentError);
    expect(e).toMatchObject({
      message: 'cannot export the cache to /c: no space left on device',
      hint: 'free some space',
      location: at,
    });
    expect(e.cause).toBe(full);
    const user = withPrefix(new UserError('bad ref', { detail: '  x' }), 'p: ');
    expect(user).not.toBeInstanceOf(EnvironmentError);
    expect(user).toMatchObject({ message: 'p: bad ref', detail: '  x' });
  });

  it('leaves bugs as they are', () => {
    const bug = new TypeError('x is undefined');
    expect(withPrefix(bug, 'p: ')).toBe(bug);
  });
});

describe('asUsageError', () => {
  it('makes a bad flag value a usage error, keeping hint and detail', () => {
    const bad = new UserError('unsupported output type "x"', { hint: 'supported: oci', detail: '  d' });
    const e = asUsageError(bad);
    expect(e).toBeInstanceOf(UsageError);
    expect(e).toMatchObject({ message: bad.message, hint: 'supported: oci', detail: '  d', cause: bad });
  });

  it('leaves environment errors, usage errors and bugs as they are', () => {
    const env = new EnvironmentError('no docker');
    expect(asUsageError(env)).toBe(env);
    const usage = new UsageError('u');
    expect(asUsageError(usage)).toBe(usage);
    const bug = new TypeError('t');
    expect(asUsageError(bug)).toBe(bug);
  });
});

describe('stacksWithCauses', () => {
  it('prints each stack of the cause chain, once even if the chain loops', () => {
    const root = new Error('root cause');
    const top = new UserError('top', { cause: root });
    const text = stacksWithCauses(top);
    expect(text).toMatch(/^UserError: top\n\s+at /);
    expect(text).toMatch(/\ncaused by: Error: root cause\n\s+at /);
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(stacksWithCauses(b).match(/caused by/g)).toHaveLength(1);
    expect(stacksWithCauses('thrown string')).toBe('thrown string');
  });
});

describe('asEnvironmentError: permission', () => {
  it("maps EACCES and EPERM only where the caller says the path is the user's to fix", () => {
    const denied = errno('EACCES', "EACCES: permission denied, open '/state/x'");
    expect(asEnvironmentError(denied, 'cannot read the build context')).toBe(denied);
    const e = asEnvironmentError(denied, 'cannot read the build context', { denied: 'make it readable' });
    expect(e).toBeInstanceOf(EnvironmentError);
    expect(e).toMatchObject({
      message: 'cannot read the build context: permission denied (/state/x)',
      hint: 'make it readable',
      cause: denied,
    });
    expect(asEnvironmentError(errno('EPERM'), 'cannot write x', { denied: 'fix it' })).toMatchObject({
      message: 'cannot write x: operation not permitted (/state/x)',
    });
    // other codes are unchanged by the option
    const bug = errno('EBADF');
    expect(asEnvironmentError(bug, 'x', { denied: 'fix it' })).toBe(bug);
  });
});
