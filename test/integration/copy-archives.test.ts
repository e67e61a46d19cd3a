import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, type Fixture, type UnpackedImage } from '../helpers/build-fixture.js';

const run = promisify(execFile);

/** Archives made with the tar program from a small tree, in every compression ADD extracts. */
async function writeArchives(into: string): Promise<void> {
  const src = await mkdtemp(join(tmpdir(), 'tsbuild-archive-src-'));
  try {
    await mkdir(join(src, 'pkg/bin'), { recursive: true });
    await writeFile(join(src, 'pkg/bin/tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
    await writeFile(join(src, 'pkg/README'), 'readme\n');
    await run('ln', ['-s', 'bin/tool', join(src, 'pkg/tool-link')]);
    const t = ['--sort=name', '--numeric-owner', '--owner=1234', '--group=5678', '-C', src];
    await run('tar', [...t, '-cf', join(into, 'pkg.tar'), 'pkg']);
    await run('tar', [...t, '-czf', join(into, 'pkg.tgz'), 'pkg']);
    await run('tar', [...t, '-cjf', join(into, 'pkg.tar.bz2'), 'pkg']);
    await run('tar', [...t, '-cJf', join(into, 'pkg.tar.xz'), 'pkg']);
    await run('zstd', ['-q', join(into, 'pkg.tar'), '-o', join(into, 'pkg.tar.zst')]);
  } finally {
    await rm(src, { recursive: true, force: true });
  }
}

/** A tar with a hostile entry, written entry by entry. */
async function evilTar(path: string, entries: tarStream.Headers[]): Promise<void> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((r) => pack.on('end', r));
  for (const h of entries) {
    const body = h.type === undefined || h.type === 'file' ? 'evil' : '';
    await new Promise<void>((r, j) => pack.entry({ mode: 0o644, ...h }, body, (e) => (e ? j(e) : r())));
  }
  pack.finalize();
  await done;
  await writeFile(path, Buffer.concat(chunks));
}

describe('ADD of local archives', () => {
  let fx: Fixture;
  let img: UnpackedImage;

  beforeAll(async () => {
    fx = await makeFixture({
      Dockerfile:
        [
          `FROM ${FROM_BASE}`,
          'ADD pkg.tar /tar/',
          'ADD pkg.tgz /gz',
          'ADD pkg.tar.bz2 /bz2/',
          'ADD pkg.tar.xz /xz/',
          'ADD pkg.tar.zst /zst/',
          'ADD pkg.t* /many',
          'ADD --chown=42:43 pkg.tgz /chowned/',
          'ADD --unpack=false pkg.tgz /kept/',
          'COPY pkg.tgz /copied/',
          'RUN mkdir -p /existing/pkg/bin && echo old > /existing/pkg/old && echo old > /existing/pkg/README',
          'ADD pkg.tar.xz /existing/',
        ].join('\n') + '\n',
    });
    await writeArchives(fx.context);
    const res = await fx.build();
    if (res.exitCode !== 0) throw new Error(res.stderr);
    img = await fx.unpack();
  });
  afterAll(async () => fx?.cleanup());

  it("extracts tar, gzip, bzip2, xz and zstd archives with the archive's owners, modes and links", async () => {
    for (const d of ['/tar', '/gz', '/bz2', '/xz', '/zst', '/many']) {
      expect(await img.read(`${d}/pkg/README`), d).toBe('readme\n');
      const tool = await img.stat(`${d}/pkg/bin/tool`);
      expect([tool.mode, tool.uid, tool.gid], d).toEqual([0o755, 1234, 5678]);
      expect(await img.readlink(`${d}/pkg/tool-link`)).toBe('bin/tool');
    }
    const dest = await img.stat('/gz');
    expect([dest.mode, dest.uid, dest.gid]).toEqual([0o755, 0, 0]);
  });

  it('--chown owns the destination and every extracted entry', async () => {
    for (const p of ['/chowned', '/chowned/pkg', '/chowned/pkg/bin/tool']) {
      const st = await img.stat(p);
      expect([st.uid, st.gid], p).toEqual([42, 43]);
    }
  });

  it('--unpack=false and COPY keep the archive as a file', async () => {
    expect((await img.stat('/kept/pkg.tgz')).type).toBe('file');
    expect((await img.stat('/copied/pkg.tgz')).type).toBe('file');
  });

  it('replaces existing files and merges into existing directories', async () => {
    expect(await img.read('/existing/pkg/README')).toBe('readme\n');
    expect(await img.read('/existing/pkg/old')).toBe('old\n');
    expect(await img.read('/existing/pkg/bin/tool')).toBe('#!/bin/sh\necho tool\n');
  });
});

describe('ADD of a hostile archive', () => {
  let fx: Fixture | undefined;
  afterAll(async () => fx?.cleanup());

  for (const [name, entries, message] of [
    ['dotdot.tar', [{ name: '../../escape.txt' }], /"..\/..\/escape.txt" is outside of the destination/],
  ] as const) {
    it(`fails the step at its line, writing nothing outside: ${name}`, async () => {
      await fx?.cleanup();
      fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN true\nADD ${name} /x/\n` });
      await evilTar(join(fx.context, name), [...entries] as tarStream.Headers[]);
      const res = await fx.build();
      expect(res.exitCode).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`Dockerfile:3:1: .*ADD ${name}: `));
      expect(res.stderr).toMatch(message);
    });
  }
});
