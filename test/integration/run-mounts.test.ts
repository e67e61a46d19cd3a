import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, type Fixture, type UnpackedImage } from '../helpers/build-fixture.js';

/** RUN --mount: bind (context and stage), cache, tmpfs, secret — and nothing of them in the layers. */
describe('RUN --mount', () => {
  let fx: Fixture;
  let img: UnpackedImage;
  let first: string;
  const dockerfile =
    [
      `FROM ${FROM_BASE} AS tools`,
      'RUN mkdir -p /opt/tool && echo tool-v1 > /opt/tool/version',
      `FROM ${FROM_BASE}`,
      'RUN --mount=type=bind,target=/ctx cat /ctx/src/a.txt > /from-context && ls -a /ctx > /ctx-listing',
      'RUN --mount=type=bind,source=src/a.txt,target=/one.txt cp /one.txt /single-file',
      'RUN --mount=type=bind,from=tools,source=/opt/tool,target=/t cat /t/version > /from-stage',
      'RUN --mount=type=bind,target=/ctx,rw echo scribble > /ctx/new && test -f /ctx/new',
      'RUN --mount=type=cache,target=/var/cache/app,id=appcache echo run >> /var/cache/app/log && wc -l < /var/cache/app/log > /cache-count',
      'RUN --mount=type=tmpfs,target=/scratch,size=1m df /scratch | tail -1 | grep -q tmpfs && echo tmpfs > /tmpfs-ok',
      'RUN --mount=type=secret,id=token cat /run/secrets/token | wc -c > /secret-len && stat -c %a /run/secrets/token > /secret-mode',
      'RUN --mount=type=secret,id=absent test ! -e /run/secrets/absent && echo skipped > /absent-ok',
    ].join('\n') + '\n';

  beforeAll(async () => {
    fx = await makeFixture({
      Dockerfile: dockerfile,
      'src/a.txt': 'A\n',
      'hidden.key': 'k',
      '.dockerignore': '*.key\ntoken.txt\n',
      'token.txt': 's3cr3t',
    });
    const res = await fx.build(['--secret', `id=token,src=${join(fx.context, 'token.txt')}`]);
    first = res.stderr;
    if (res.exitCode !== 0) throw new Error(res.stderr);
    img = await fx.unpack();
  });
  afterAll(async () => fx.cleanup());

  it('bind from the context: what .dockerignore lets through, a file or a directory', async () => {
    expect(await img.read('/from-context')).toBe('A\n');
    const listing = await img.read('/ctx-listing');
    expect(listing).toMatch(/^src$/m);
    expect(listing).not.toMatch(/hidden\.key/);
    expect(await img.read('/single-file')).toBe('A\n');
  });

  it('bind from another stage', async () => {
    expect(await img.read('/from-stage')).toBe('tool-v1\n');
  });

  it('a cache mount persists between builds and stays out of the image', async () => {
    expect(await img.read('/cache-count')).toBe('1\n');
    expect(await img.exists('/var/cache/app/log')).toBe(false);
  });

  it('tmpfs and secrets are mounted; the secret reaches neither the image nor the log', async () => {
    expect(await img.read('/tmpfs-ok')).toBe('tmpfs\n');
    expect(await img.read('/secret-len')).toBe('6\n');
    expect(await img.read('/secret-mode')).toBe('400\n');
    expect(await img.read('/absent-ok')).toBe('skipped\n');
    expect(await img.exists('/run/secrets')).toBe(false);
    expect(first).not.toContain('s3cr3t');
  });

  it('mount targets do not leak into layers', async () => {
    for (const p of ['/ctx', '/one.txt', '/t', '/scratch']) expect(await img.exists(p)).toBe(false);
  });

  it('a context bind is keyed on the bound files; the secret value and the cache are not', async () => {
    await writeFile(join(fx.context, 'token.txt'), 'other-value');
    const again = await fx.build(['--secret', `id=token,src=${join(fx.context, 'token.txt')}`]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/#\d+ running/);
    await writeFile(join(fx.context, 'src/a.txt'), 'B\n');
    const changed = await fx.build(['--secret', `id=token,src=${join(fx.context, 'token.txt')}`]);
    expect(changed.exitCode, changed.stderr).toBe(0);
    expect(changed.stderr).toMatch(/cat \/ctx\/src\/a.txt[^\n]*\n#\d+ running/);
    // the cache step re-ran (its parent changed) and found the first run's entry in the cache
    const img2 = await fx.unpack();
    expect(await img2.read('/from-context')).toBe('B\n');
    expect(await img2.read('/cache-count')).toBe('2\n');
  });

  it('a required secret that is not given is an error naming it', async () => {
    const bad = await makeFixture({
      Dockerfile: `FROM ${FROM_BASE}\nRUN --mount=type=secret,id=npmrc,required cat /run/secrets/npmrc\n`,
    });
    try {
      const res = await bad.build();
      expect(res.exitCode).toBe(1);
      expect(res.stderr).toMatch(/Dockerfile:2:1: .*secret npmrc: not found/);
      expect(res.stderr).toMatch(/--secret id=npmrc,src=FILE/);
    } finally {
      await bad.cleanup();
    }
  });

  it('a bad mount option is a Dockerfile error with a suggestion', async () => {
    const bad = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN --mount=type=cache,taget=/x true\n` });
    try {
      const res = await bad.build();
      expect(res.exitCode).toBe(1);
      expect(res.stderr).toMatch(/Dockerfile:2:1: .*unexpected key 'taget' for mount type 'cache'/);
      expect(res.stderr).toMatch(/did you mean target\?/);
    } finally {
      await bad.cleanup();
    }
  });
});
