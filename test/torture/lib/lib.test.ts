import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { grepTree } from './grep-tree.js';
import { minimise } from './minimise.js';
import { mutate } from './mutate.js';
import { seededRng } from './prng.js';

describe('torture helpers', () => {
  it('the same seed gives the same mutants, another seed others', () => {
    const text = 'FROM a\nRUN echo hi\nCOPY x /y\n';
    const run = (seed: number) =>
      Array.from(
        { length: 20 },
        (
          (rng) => () =>
            mutate(text, rng).text
        )(seededRng(seed)),
      );
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('minimise keeps a failure and drops the rest, long runs included', async () => {
    const text = 'FROM x\nRUN a\nWORKDIR /home/' + '\\'.repeat(20_000) + '\nRUN b\n';
    const fails = async (t: string): Promise<boolean> => /\\{256}/.test(t) && t.includes('WORKDIR');
    const small = await minimise(text, fails, 60);
    expect(await fails(small)).toBe(true);
    expect(small.length).toBeLessThan(700);
  });

  it('grepTree finds a needle across read chunks, in names and link targets, and not through links', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-torture-grep-'));
    try {
      const needle = Buffer.from('needle-0123456789');
      await writeFile(join(dir, 'straddles'), Buffer.concat([Buffer.alloc((1 << 20) - 5), needle, Buffer.alloc(10)]));
      await writeFile(join(dir, 'clean'), Buffer.alloc(3 << 20));
      await symlink('/tmp/needle-0123456789', join(dir, 'link'));
      await symlink(join(dir, 'straddles'), join(dir, 'not-followed'));
      const hits = await grepTree([dir], needle);
      expect(hits.sort()).toEqual([join(dir, 'link (link target)'), join(dir, 'straddles')].sort());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
