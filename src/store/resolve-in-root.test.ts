import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { resolveInRoot } from './resolve-in-root.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsbuild-resolve-in-root-test-'));
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await mkdir(join(root, 'usr/lib/x'), { recursive: true });
  await mkdir(join(root, 'etc'));
  await symlink('/usr/bin', join(root, 'bin')); // absolute, as in merged-/usr distros
  await symlink('usr/lib', join(root, 'lib')); // relative
  await symlink('/../../etc', join(root, 'evil')); // tries to climb out
  await symlink('../../../../../../etc', join(root, 'usr/evil-rel'));
  await symlink('/bin', join(root, 'chain')); // link to a link
  await symlink('x', join(root, 'usr/lib/cur'));
  await symlink('/loop-b', join(root, 'loop-a'));
  await symlink('/loop-a', join(root, 'loop-b'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('resolveInRoot', () => {
  it('plain paths map under the root, normalised', async () => {
    expect(await resolveInRoot(root, '/usr/bin')).toBe(join(root, 'usr/bin'));
    expect(await resolveInRoot(root, 'usr//bin/./')).toBe(join(root, 'usr/bin'));
    expect(await resolveInRoot(root, '/')).toBe(root);
    expect(await resolveInRoot(root, '')).toBe(root);
  });

  it('an absolute symlink is followed relative to the root', async () => {
    expect(await resolveInRoot(root, '/bin')).toBe(join(root, 'usr/bin'));
    expect(await resolveInRoot(root, '/bin/sh')).toBe(join(root, 'usr/bin/sh'));
  });

  it('a relative symlink is followed from its directory', async () => {
    expect(await resolveInRoot(root, '/lib/x')).toBe(join(root, 'usr/lib/x'));
    expect(await resolveInRoot(root, '/lib/cur/file')).toBe(join(root, 'usr/lib/x/file'));
  });

  it('chains of links are followed', async () => {
    expect(await resolveInRoot(root, '/chain/ls')).toBe(join(root, 'usr/bin/ls'));
  });

  it('`..` in a link target or in the path stops at the root', async () => {
    expect(await resolveInRoot(root, '/evil')).toBe(join(root, 'etc'));
    expect(await resolveInRoot(root, '/evil/passwd')).toBe(join(root, 'etc/passwd'));
    expect(await resolveInRoot(root, '/usr/evil-rel/shadow')).toBe(join(root, 'etc/shadow'));
    expect(await resolveInRoot(root, '/../../../etc/passwd')).toBe(join(root, 'etc/passwd'));
    expect(await resolveInRoot(root, '/usr/../../etc')).toBe(join(root, 'etc'));
  });

  it('`..` after a symlink applies to where the link led (as in the container)', async () => {
    expect(await resolveInRoot(root, '/bin/../lib')).toBe(join(root, 'usr/lib'));
  });

  it('followLast=false leaves a final symlink unresolved but follows the ones before it', async () => {
    expect(await resolveInRoot(root, '/bin', false)).toBe(join(root, 'bin'));
    expect(await resolveInRoot(root, '/lib/cur', false)).toBe(join(root, 'usr/lib/cur'));
  });

  it('missing components are kept as written', async () => {
    expect(await resolveInRoot(root, '/nope/deeper')).toBe(join(root, 'nope/deeper'));
    expect(await resolveInRoot(root, '/bin/new-tool')).toBe(join(root, 'usr/bin/new-tool'));
  });

  it("a symlink loop is the Dockerfile's error (a UserError, exit 1), not a hang", async () => {
    await expect(resolveInRoot(root, '/loop-a/x')).rejects.toThrow(/too many levels of symbolic links/);
    await expect(resolveInRoot(root, '/loop-a/x')).rejects.toBeInstanceOf(UserError);
  });
});
