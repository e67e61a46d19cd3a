import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userErrorOf } from '../../test/helpers/user-error.js';
import { checkLayoutAccess } from './layout-access.js';

let tmp: string;
let ctx: string;
let outside: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-layout-access-'));
  ctx = join(tmp, 'ctx');
  outside = join(tmp, 'host', 'layout');
  await mkdir(join(ctx, 'layouts', 'base'), { recursive: true });
  await mkdir(outside, { recursive: true });
  await symlink(outside, join(ctx, 'out'));
  await symlink('layouts/base', join(ctx, 'in'));
});
afterAll(async () => rm(tmp, { recursive: true, force: true }));

const check = (dir: string, fsRead: string[] = []) =>
  checkLayoutAccess(`oci-layout://${dir}`, dir, ctx, fsRead, { file: 'Dockerfile', line: 1, column: 1 });

describe('checkLayoutAccess', () => {
  it('allows a layout in the context, also through a symlink that stays in it', async () => {
    await check(join(ctx, 'layouts/base'));
    await check(join(ctx, 'in'));
  });

  it('refuses a layout outside the context, by path, by .. or through a symlink, at the FROM', async () => {
    for (const dir of [outside, join(ctx, '../host/layout'), join(ctx, 'out')]) {
      const err = await userErrorOf(check(dir));
      expect(err.message).toMatch(/is outside the build context/);
      expect(err.hint).toBe(
        `grant the build read access to it with --allow fs.read=${outside}, or put the layout in the context`,
      );
      expect(err.location?.line).toBe(1);
    }
  });

  it('allows one under a directory granted with --allow fs.read, the dir itself or a parent', async () => {
    await check(outside, [outside]);
    await check(join(ctx, 'out'), [join(tmp, 'host')]);
    await expect(check(outside, [join(tmp, 'hostile')])).rejects.toThrow(/outside the build context/);
  });
});
