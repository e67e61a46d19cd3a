import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, type Fixture, type UnpackedImage } from '../helpers/build-fixture.js';

/**
 * COPY --link: the same files as without it, in a layer made without looking below, so the
 * layer (and its blob) is the same over any base and is not copied again when the base changes.
 */
describe('COPY --link', () => {
  let fx: Fixture;
  const images: Record<string, UnpackedImage> = {};

  beforeAll(async () => {
    fx = await makeFixture({
      Dockerfile:
        [
          'ARG VARIANT=a',
          `FROM ${FROM_BASE} AS base-a`,
          'RUN mkdir -m 700 /app && chown 5:5 /app && echo a > /base.txt',
          `FROM ${FROM_BASE} AS base-b`,
          'RUN echo b > /base.txt',
          'FROM base-${VARIANT}',
          'COPY --link --chown=nobody files/ /app/',
          'COPY --chown=nobody files/ /plain/',
        ].join('\n') + '\n',
      'files/run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
      'files/sub/data.txt': 'data',
    });
    for (const variant of ['a', 'b']) {
      const res = await fx.build(['--build-arg', `VARIANT=${variant}`]);
      if (res.exitCode !== 0) throw new Error(res.stderr);
      images[variant] = await fx.unpack();
    }
  });
  afterAll(async () => fx?.cleanup());

  it('copies the same files as a plain COPY, owner resolved in the base image', async () => {
    const img = images.b!;
    for (const p of ['run.sh', 'sub', 'sub/data.txt']) {
      const [linked, plain] = [await img.stat(`/app/${p}`), await img.stat(`/plain/${p}`)];
      expect(linked, p).toEqual(plain);
      expect([linked.uid, linked.gid]).toEqual([65534, 65534]);
    }
    expect(await img.read('/app/sub/data.txt')).toBe('data');
  });

  it('makes one layer, byte for byte, over two different bases', async () => {
    const linkLayer = (v: string) => images[v]!.config.rootfs.diff_ids.at(-2);
    expect(linkLayer('a')).toBe(linkLayer('b'));
    expect(await images.a!.read('/base.txt')).toBe('a\n');
    // the link layer carries its destination directory itself, which wins over the base's /app
    const app = await images.a!.stat('/app');
    expect([app.mode, app.uid, app.gid]).toEqual([0o755, 65534, 65534]);
  });

  it('keeps that layer once in the state directory', async () => {
    const snapshots = await readdir(join(fx.stateRoot, 'snapshots'));
    expect(snapshots.filter((s) => s.startsWith('k'))).toHaveLength(1);
  });
});
