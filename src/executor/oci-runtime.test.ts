import { describe, expect, it } from 'vitest';
import { EnvironmentError, UserError } from '../errors.js';
import { isExecError } from './crun-runner.js';
import { crunFor } from './oci-runtime.js';

const plain = { attached: false, limited: false };

describe('crunFor', () => {
  it('leaves every step to runc with TSBUILD_RUNTIME=runc', async () => {
    expect(await crunFor(plain, { TSBUILD_RUNTIME: 'runc' })).toBeUndefined();
  });

  it('leaves `tsbuild run` and steps with resource limits to runc by default', async () => {
    expect(await crunFor({ attached: true, limited: false }, {})).toBeUndefined();
    expect(await crunFor({ attached: false, limited: true }, { TSBUILD_RUNTIME: 'auto' })).toBeUndefined();
  });

  it('refuses to force crun where it cannot run the step, and an unknown runtime', async () => {
    await expect(crunFor({ attached: false, limited: true }, { TSBUILD_RUNTIME: 'crun' })).rejects.toThrow(
      EnvironmentError,
    );
    await expect(crunFor(plain, { TSBUILD_RUNTIME: 'youki' })).rejects.toThrow(UserError);
    await expect(crunFor(plain, { TSBUILD_RUNTIME: 'youki' })).rejects.toMatchObject({
      hint: expect.stringContaining('use runc, crun or auto'),
    });
  });
});

describe('isExecError', () => {
  it('tells crun’s exec failures from its other errors', () => {
    expect(isExecError('executable file `nonexist` not found in $PATH: No such file or directory')).toBe(true);
    expect(isExecError('open executable: Permission denied')).toBe(true);
    expect(isExecError('open `seccomp.bpf`: No such file or directory')).toBe(false);
    expect(isExecError('mount `proc` to `proc`: Operation not permitted')).toBe(false);
  });
});
