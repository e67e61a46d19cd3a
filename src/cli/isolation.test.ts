import { describe, expect, it } from 'vitest';
import { EnvironmentError, UsageError } from '../errors.js';
import {
  canMount,
  chooseIsolation,
  rootlessBanner,
  rootlessIds,
  rootlessPossible,
  rootlessRuntimeDir,
  unshareArgs,
} from './isolation.js';

const ids = { uid: 1001, gid: 1001, subuid: { start: 165536, count: 65536 }, subgid: { start: 200000, count: 65536 } };

describe('chooseIsolation', () => {
  it('runc for root that may mount, chroot for root that may not, rootless for anyone else', () => {
    expect(chooseIsolation(undefined, 0, () => true)).toBe('runc');
    expect(chooseIsolation(undefined, 0, () => false)).toBe('chroot');
    expect(chooseIsolation(undefined, 1000, () => true)).toBe('rootless');
  });

  it('chroot for a user other than root where rootless cannot work', () => {
    expect(
      chooseIsolation(
        undefined,
        1000,
        () => false,
        () => false,
      ),
    ).toBe('chroot');
    expect(
      chooseIsolation(
        undefined,
        1000,
        () => false,
        () => true,
      ),
    ).toBe('rootless');
  });

  it('--isolation wins', () => {
    expect(chooseIsolation('runc', 1000)).toBe('runc');
    expect(chooseIsolation('rootless', 1000)).toBe('rootless');
    expect(chooseIsolation('chroot', 0, () => true)).toBe('chroot');
    expect(() => chooseIsolation('jail', 0)).toThrow(UsageError);
  });
});

describe('canMount', () => {
  it("reads CAP_SYS_ADMIN from the effective set: host root has it, docker's default set does not", () => {
    expect(canMount('Name:\tnode\nCapEff:\t000001ffffffffff\n')).toBe(true);
    expect(canMount('Name:\tnode\nCapEff:\t00000000a80425fb\n')).toBe(false);
  });
});

describe('unshareArgs', () => {
  it('maps the user to root and the subordinate ranges from 1, in new user and mount namespaces', () => {
    expect(unshareArgs(ids, ['/usr/bin/node', 'tsbuild.cjs', 'build', '.'])).toEqual([
      '--user',
      '--map-root-user',
      '--map-users=165536,1,65536',
      '--map-groups=200000,1,65536',
      '--mount',
      '--propagation',
      'private',
      '--',
      'setpriv',
      '--pdeathsig',
      'TERM',
      '--',
      '/usr/bin/node',
      'tsbuild.cjs',
      'build',
      '.',
    ]);
  });
});

describe('rootlessRuntimeDir', () => {
  it('under XDG_RUNTIME_DIR, one per state dir; TSBUILD_RUNTIME_DIR or no XDG_RUNTIME_DIR leave the default', () => {
    expect(rootlessRuntimeDir('/home/u/.local/share/tsbuild', { XDG_RUNTIME_DIR: '/run/user/1001' })).toMatch(
      /^\/run\/user\/1001\/tsbuild\/[0-9a-f]{16}$/,
    );
    expect(rootlessRuntimeDir('/s', { XDG_RUNTIME_DIR: '/run/user/1001', TSBUILD_RUNTIME_DIR: '/r' })).toBeUndefined();
    expect(rootlessRuntimeDir('/s', {})).toBeUndefined();
  });
});

describe('rootlessIds', () => {
  it('a user /etc/subuid does not name is told how to add one', async () => {
    const err = await rootlessIds(4_000_000_000, 4_000_000_000, 'no-such-user-for-tsbuild').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect(err).toMatchObject({
      message: expect.stringMatching(/^rootless mode needs subordinate ids for no-such-user-for-tsbuild/),
      hint: expect.stringMatching(/usermod --add-subuids/),
    });
  });
});

describe('rootlessBanner', () => {
  it('says the mode, the mapping, and the limits that hold', () => {
    expect(rootlessBanner(ids, 4096)).toBe(
      'rootless: user namespace maps uid 1001 to 0 and 165536…231071 to 1…65536; RUN steps have seccomp and a pids limit of 4096 per user (RLIMIT_NPROC), no cgroup: no memory or CPU limits',
    );
    expect(rootlessBanner(ids, -1)).toMatch(/; RUN steps have seccomp and no pids limit \(TSBUILD_PIDS_LIMIT=max\)/);
  });
});

describe('rootlessPossible', () => {
  const files = (subuid: string, status: string) => (path: string) =>
    ({ '/etc/subuid': subuid, '/etc/subgid': subuid, '/proc/self/status': status })[path] ?? '';
  const granted = 'app:100000:65536\n';
  const unconfined = 'Name:\tnode\nSeccomp:\t0\n';
  const filtered = 'Name:\tnode\nSeccomp:\t2\n';

  it('needs subordinate ids, and tries a user namespace only under a seccomp filter', () => {
    let tried = 0;
    const unshare = (ok: boolean) => () => {
      tried++;
      return ok;
    };
    expect(rootlessPossible(1000, 'app', files('', unconfined), unshare(true))).toBe(false);
    expect(rootlessPossible(1000, 'app', files(granted, unconfined), unshare(false))).toBe(true);
    expect(tried).toBe(0);
    expect(rootlessPossible(1000, 'app', files(granted, filtered), unshare(false))).toBe(false);
    expect(rootlessPossible(1000, 'app', files(granted, filtered), unshare(true))).toBe(true);
    expect(tried).toBe(2);
    // by number, as newuidmap takes it
    expect(rootlessPossible(1000, 'nobody', files('1000:100000:65536\n', unconfined), unshare(false))).toBe(true);
  });
});
