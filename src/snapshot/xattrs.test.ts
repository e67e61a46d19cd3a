import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpXattrTree } from './xattrs.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-xattrs-'));
  // two roots where one name is a prefix of the other, and a third without any xattr
  for (const d of ['a/sub', 'ab', 'plain']) await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, 'a/sub/f'), 'x');
  await writeFile(join(dir, 'ab/g'), 'y');
  execFileSync('setfattr', ['-n', 'user.which', '-v', 'a-root', join(dir, 'a')]);
  execFileSync('setfattr', ['-n', 'user.which', '-v', 'a-file', join(dir, 'a/sub/f')]);
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(dir, 'ab')]);
  execFileSync('setfattr', ['-n', 'user.which', '-v', 'ab-file', join(dir, 'ab/g')]);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('dumpXattrTree', () => {
  it('answers calls of the same moment together, each with the paths of its own root', async () => {
    const [a, ab, plain, again] = await Promise.all(
      [join(dir, 'a'), join(dir, 'ab'), join(dir, 'plain'), join(dir, 'a') + '/'].map((r) => dumpXattrTree(r)),
    );
    const show = (m: Map<string, Map<string, Buffer>>) =>
      Object.fromEntries(
        [...m].map(([p, attrs]) => [p, Object.fromEntries([...attrs].map(([k, v]) => [k, v.toString()]))]),
      );
    expect(show(a!)).toEqual({ '': { 'user.which': 'a-root' }, 'sub/f': { 'user.which': 'a-file' } });
    expect(show(ab!)).toEqual({ '': { 'trusted.overlay.opaque': 'y' }, g: { 'user.which': 'ab-file' } });
    expect(show(plain!)).toEqual({});
    expect(show(again!)).toEqual(show(a!));
  });

  it('fails every caller of a batch when getfattr fails', async () => {
    await expect(dumpXattrTree(join(dir, 'missing'))).rejects.toThrow(/getfattr -R .*missing failed/);
  });
});
