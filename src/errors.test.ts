import { describe, expect, it } from 'vitest';
import { asEnvironmentError, EnvironmentError, isUserError, UserError } from './errors.js';

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
