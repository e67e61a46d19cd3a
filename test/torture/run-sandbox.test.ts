/**
 * The RUN sandbox from inside: Docker's default seccomp filter is on, so a step cannot make
 * itself a user namespace and mount there, nor mount directly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, type Fixture } from '../helpers/build-fixture.js';

describe('RUN sandbox', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await makeFixture({
      Dockerfile: [
        `FROM ${FROM_BASE}`,
        'RUN grep "^Seccomp:" /proc/self/status > /seccomp',
        // each attempt records its exit code; the step itself succeeds
        "RUN unshare -Urm sh -c 'mount -t tmpfs t /tmp && echo MOUNTED' > /unshare.out 2>&1; echo $? > /unshare.rc",
        'RUN mount -t tmpfs t /tmp > /mount.out 2>&1; echo $? > /mount.rc',
        'RUN chroot / true; echo $? > /chroot.rc',
        '',
      ].join('\n'),
    });
  });
  afterAll(() => fx.cleanup());

  it('filters syscalls with seccomp, denies unshare and mount, allows chroot', async () => {
    const res = await fx.build();
    expect(res.exitCode, res.stderr).toBe(0);
    const img = await fx.unpack();
    expect((await img.read('/seccomp')).trim()).toBe('Seccomp:\t2');
    expect((await img.read('/unshare.rc')).trim()).not.toBe('0');
    expect(await img.read('/unshare.out')).toMatch(/Operation not permitted/);
    expect(await img.read('/unshare.out')).not.toMatch(/MOUNTED/);
    expect((await img.read('/mount.rc')).trim()).not.toBe('0');
    expect((await img.read('/chroot.rc')).trim()).toBe('0');
  }, 60_000);
});
