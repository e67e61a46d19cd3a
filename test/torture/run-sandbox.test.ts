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
        'RUN grep -E "^(CapBnd|CapEff|CapInh|CapAmb|NoNewPrivs):" /proc/self/status > /caps',
        '',
      ].join('\n'),
    });
  });
  afterAll(() => fx.cleanup());

  it('filters syscalls with seccomp (unshare and mount denied, chroot allowed) and grants the default capabilities', async () => {
    const res = await fx.build();
    expect(res.exitCode, res.stderr).toBe(0);
    const img = await fx.unpack();
    expect((await img.read('/seccomp')).trim()).toBe('Seccomp:\t2');
    expect((await img.read('/unshare.rc')).trim()).not.toBe('0');
    expect(await img.read('/unshare.out')).toMatch(/Operation not permitted/);
    expect(await img.read('/unshare.out')).not.toMatch(/MOUNTED/);
    expect((await img.read('/mount.rc')).trim()).not.toBe('0');
    expect((await img.read('/chroot.rc')).trim()).toBe('0');
    // Docker's 14 default capabilities (bits 0,1,3-8,10,13,18,27,29,31), as BuildKit gives RUN
    expect(await img.read('/caps')).toBe(
      'CapInh:\t0000000000000000\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\n',
    );
  }, 60_000);
});
