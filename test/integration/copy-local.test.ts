import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_LAYOUT, FROM_BASE, makeFixture, type Fixture, type UnpackedImage } from '../helpers/build-fixture.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

/** COPY from the context and from stages: --chmod, --exclude, --parents, wildcards, destinations. */
describe('COPY of local files', () => {
  let fx: Fixture;
  let img: UnpackedImage;

  beforeAll(async () => {
    fx = await makeFixture({
      Dockerfile:
        [
          `FROM ${FROM_BASE} AS stage`,
          'RUN mkdir -p /out/sub && echo s > /out/sub/s.txt && echo m > /out/m.md && chmod 640 /out/m.md',
          `FROM ${FROM_BASE}`,
          'COPY --chmod=u=rwx,go=rx src/a.txt /sym1/',
          'COPY --chmod=go-w,a+X dir /sym2/',
          'COPY --chmod=0750 dir /oct/',
          'COPY --exclude=*.md --exclude=sub dir /ex1/',
          'COPY --exclude=**/*.log --exclude=!keep.log logs /ex2/',
          'COPY --exclude=*.md --from=stage /out/ /ex3/',
          'COPY --parents dir/sub/deep.txt /par1/',
          'COPY --parents ./dir/./sub/*.txt /par2/',
          'COPY --parents src/*.txt dir/*.md /par3/',
          'COPY --from=stage --parents /out/./sub /par4/',
          'COPY *.nothing /none/',
          'COPY src/a.txt src/b.txt /multi/',
          'COPY s?c/[ab].txt /wild/',
          'COPY dir /contents',
          'WORKDIR /wd',
          'COPY src/a.txt .',
        ].join('\n') + '\n',
      'src/a.txt': 'A',
      'src/b.txt': 'B',
      'dir/top.md': 'top',
      'dir/run.sh': { content: '#!/bin/sh\n', mode: 0o744 },
      'dir/plain': { content: 'p', mode: 0o664 },
      'dir/sub/deep.txt': 'deep',
      'dir/sub/notes.md': 'notes',
      'logs/a.log': 'a',
      'logs/keep.log': 'k',
      'logs/x/b.log': 'b',
      'logs/x/c.txt': 'c',
    });
    const res = await fx.build();
    if (res.exitCode !== 0) throw new Error(res.stderr);
    img = await fx.unpack();
  });
  afterAll(async () => fx?.cleanup());

  const mode = async (p: string) => (await img.stat(p)).mode;

  it("symbolic --chmod applies to each file and directory's own mode", async () => {
    expect(await mode('/sym1/a.txt')).toBe(0o755);
    expect(await mode('/sym2/run.sh')).toBe(0o755); // 0744 go-w → 0744, a+X (u has x) → 0755
    expect(await mode('/sym2/plain')).toBe(0o644); // 0664 go-w → 0644, nothing executable
    expect(await mode('/sym2/sub')).toBe(0o755); // directories always take X
    expect(await mode('/sym2')).toBe(0o755); // created for the copy, not copied
  });

  it('octal --chmod sets files and copied directories alike', async () => {
    expect(await mode('/oct/plain')).toBe(0o750);
    expect(await mode('/oct/sub')).toBe(0o750);
    expect(await mode('/oct/sub/deep.txt')).toBe(0o750);
  });

  it('--exclude drops matches relative to the source, with .dockerignore pattern rules', async () => {
    expect(await img.exists('/ex1/run.sh')).toBe(true);
    expect(await img.exists('/ex1/top.md')).toBe(false);
    expect(await img.exists('/ex1/sub')).toBe(false);
    expect(await img.exists('/ex2/keep.log')).toBe(true);
    expect(await img.exists('/ex2/a.log')).toBe(false);
    expect(await img.exists('/ex2/x/b.log')).toBe(false);
    expect(await img.exists('/ex2/x/c.txt')).toBe(true);
    expect(await img.exists('/ex3/m.md')).toBe(false);
    expect(await img.read('/ex3/sub/s.txt')).toBe('s\n');
  });

  it('--parents keeps the path below the /./ pivot (or the whole path)', async () => {
    expect(await img.read('/par1/dir/sub/deep.txt')).toBe('deep');
    expect(await img.exists('/par1/dir/top.md')).toBe(false);
    expect(await img.read('/par2/sub/deep.txt')).toBe('deep');
    expect(await img.exists('/par2/dir')).toBe(false);
    expect(await img.read('/par3/src/a.txt')).toBe('A');
    expect(await img.read('/par3/src/b.txt')).toBe('B');
    expect(await img.read('/par3/dir/top.md')).toBe('top');
    expect(await img.exists('/par3/dir/run.sh')).toBe(false);
    expect(await img.read('/par4/sub/s.txt')).toBe('s\n');
  });

  it('wildcards, empty wildcards and destinations', async () => {
    expect(await img.exists('/none')).toBe(false);
    expect(await img.read('/multi/a.txt')).toBe('A');
    expect(await img.read('/wild/b.txt')).toBe('B');
    expect(await img.read('/contents/sub/deep.txt')).toBe('deep');
    expect(await img.exists('/contents/dir')).toBe(false);
    expect(await img.read('/wd/a.txt')).toBe('A');
  });
});

describe('COPY errors', () => {
  let fx: Fixture | undefined;
  afterAll(async () => fx?.cleanup());

  const failWith = async (dockerfile: string, files: Record<string, string> = {}) => {
    await fx?.cleanup();
    fx = await makeFixture({ Dockerfile: dockerfile, ...files });
    const res = await fx.build();
    expect(res.exitCode).toBe(1);
    expect(res.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    return res.stderr;
  };

  it('several files to a destination that is not a directory', async () => {
    const err = await failWith(`FROM ${FROM_BASE}\nCOPY a b /dest\n`, { a: 'a', b: 'b' });
    expect(err).toMatch(
      /Dockerfile:2:1: .*When using COPY with more than one source file, the destination must be a directory and end with a \//,
    );
    expect(err).toMatch(/hint: write the destination as \/dest\//);
  });

  it('a symbolic --chmod that does not parse, at the instruction', async () => {
    const err = await failWith(`FROM ${FROM_BASE}\nCOPY --chmod=u*x a /dest\n`, { a: 'a' });
    expect(err).toMatch(/Dockerfile:2:1: .*invalid chmod parameter: 'u\*x'/);
  });

  it('--parents naming a path that does not exist', async () => {
    const err = await failWith(`FROM ${FROM_BASE}\nCOPY --parents x/nope /dest/\n`, { 'x/a': 'a' });
    expect(err).toMatch(/Dockerfile:2:1: .*"\/x\/nope": not found/);
  });

  it('a path missing in a --from stage names the stage', async () => {
    const err = await failWith(`FROM ${FROM_BASE} AS one\nRUN true\nFROM ${FROM_BASE}\nCOPY --from=one /nope /x\n`);
    expect(err).toMatch(/Dockerfile:4:1: .*ref stage "one": "\/nope": not found/);
  });
});

describe('COPY --from an image reference', () => {
  let reg: TestRegistry;
  let fx: Fixture;
  beforeAll(async () => {
    reg = await startRegistry();
    await reg.push(BASE_LAYOUT, 'latest', 'tsb/busybox:1');
  });
  afterAll(async () => {
    await fx?.cleanup();
    await reg?.stop();
  });

  it('pulls the image and copies from its filesystem, owners and links kept', async () => {
    fx = await makeFixture({
      Dockerfile: `FROM scratch\nCOPY --from=${reg.host}/tsb/busybox:1 /bin/busybox /bin/sh /from-image/\n`,
    });
    const res = await fx.build();
    expect(res.exitCode, res.stderr).toBe(0);
    const img = await fx.unpack();
    const bb = await img.stat('/from-image/busybox');
    expect(bb.type).toBe('file');
    expect(bb.mode & 0o111).not.toBe(0);
    // /bin/sh is a symlink in the image: the source is followed and copied under its own name
    expect((await img.stat('/from-image/sh')).type).toBe('file');
  });
});
