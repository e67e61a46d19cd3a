import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, type Fixture, type UnpackedImage } from '../helpers/build-fixture.js';

const run = promisify(execFile);

/** Heredocs in RUN and COPY, as BuildKit's dockerfile 1.4+ frontend runs them. */
describe('heredocs', () => {
  let fx: Fixture;
  let img: UnpackedImage;
  beforeAll(async () => {
    fx = await makeFixture({
      Dockerfile:
        [
          `FROM ${FROM_BASE}`,
          'ARG WHO=tsbuild',
          'RUN <<EOF',
          'echo one > /one',
          'echo "two $WHO" > /two',
          'EOF',
          'RUN <<EOF',
          '#!/bin/sh',
          'echo "script $0" > /script',
          'EOF',
          'RUN cat <<EOF > /expanded',
          'home=$HOME who=$WHO',
          'EOF',
          "RUN cat <<'EOF' > /literal",
          'home=$HOME',
          'EOF',
          'RUN cat <<-EOF > /chomped',
          '\tindented',
          '\tEOF',
          'RUN <<A cat > /a && <<B cat > /b',
          'from a',
          'A',
          'from b',
          'B',
          'COPY <<EOF /etc/app.conf',
          'who=$WHO',
          'quoted="kept"',
          'EOF',
          "COPY <<'EOF' /etc/raw.conf",
          'who=$WHO',
          'EOF',
        ].join('\n') + '\n',
    });
    const res = await fx.build();
    if (res.exitCode !== 0) throw new Error(res.stderr);
    img = await fx.unpack();
  });
  afterAll(async () => fx.cleanup());

  it('a RUN heredoc is a shell script, with the ARGs in its environment', async () => {
    expect(await img.read('/one')).toBe('one\n');
    expect(await img.read('/two')).toBe('two tsbuild\n');
  });
  it('a heredoc with a shebang runs as a file', async () => {
    expect(await img.read('/script')).toBe('script /dev/pipes/EOF\n');
  });
  it('the shell expands an unquoted heredoc and not a quoted one; <<- strips tabs', async () => {
    expect(await img.read('/expanded')).toBe('home=/root who=tsbuild\n');
    expect(await img.read('/literal')).toBe('home=$HOME\n');
    expect(await img.read('/chomped')).toBe('indented\n');
  });
  it('several heredocs on one RUN', async () => {
    expect(await img.read('/a')).toBe('from a\n');
    expect(await img.read('/b')).toBe('from b\n');
  });
  it('COPY heredocs: expanded unless the delimiter is quoted, quotes kept', async () => {
    expect(await img.read('/etc/app.conf')).toBe('who=tsbuild\nquoted="kept"\n');
    expect(await img.read('/etc/raw.conf')).toBe('who=$WHO\n');
    expect(await img.stat('/etc/app.conf')).toMatchObject({ mode: 0o644, uid: 0, gid: 0 });
  });
  it('nothing of the heredoc machinery is left in the image', async () => {
    expect(await img.exists('/dev/pipes')).toBe(false);
  });
});

/** ONBUILD triggers recorded in one build run when a later build uses the image as its base. */
describe('ONBUILD', () => {
  let parent: Fixture;
  let child: Fixture;
  afterAll(async () => {
    await parent?.cleanup();
    await child?.cleanup();
  });

  it('runs the base image triggers first, then clears them', async () => {
    parent = await makeFixture({
      Dockerfile: `FROM ${FROM_BASE}\nONBUILD RUN echo triggered > /trig\nONBUILD COPY marker.txt /marker.txt\nCMD ["sh"]\n`,
    });
    const built = await parent.build();
    expect(built.exitCode, built.stderr).toBe(0);
    const parentImg = await parent.unpack();
    expect((parentImg.config.config as Record<string, unknown>).OnBuild).toEqual([
      'RUN echo triggered > /trig',
      'COPY marker.txt /marker.txt',
    ]);
    expect(await parentImg.exists('/trig')).toBe(false);

    const layout = join(parent.dir, 'parent-layout');
    await mkdir(layout);
    await run('tar', ['-xf', parent.archive, '-C', layout]);
    child = await makeFixture({
      Dockerfile: `FROM oci-layout://${layout}:latest\nRUN test -f /trig && echo child > /child\n`,
      'marker.txt': 'from the child context',
    });
    const res = await child.build(['--allow', `fs.read=${layout}`]);
    expect(res.exitCode, res.stderr).toBe(0);
    const img = await child.unpack();
    expect(await img.read('/trig')).toBe('triggered\n');
    expect(await img.read('/marker.txt')).toBe('from the child context');
    expect(await img.read('/child')).toBe('child\n');
    expect((img.config.config as Record<string, unknown>).OnBuild ?? null).toBeNull();
  });
});
