/**
 * BuildKit's frontend/dockerfile/dockerfile_dockerignore_test.go, ported against our CLI.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { df, rigsForFile } from './behaviours-rig.js';

const open = rigsForFile();
const absent = (path: string) => expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });

describe('BuildKit .dockerignore (dockerfile_dockerignore_test.go)', () => {
  it('testDockerignore', async () => {
    const r = await open({
      Dockerfile: 'FROM scratch\nCOPY . .\n',
      foo: 'foo-contents',
      bar: 'bar-contents',
      baz: 'baz-contents',
      bay: 'bay-contents',
      '.dockerignore': '\nba*\nDockerfile\n!bay\n.dockerignore\n',
    });
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('foo')).toBe('foo-contents');
    for (const gone of ['.dockerignore', 'Dockerfile', 'bar', 'baz']) await absent(join(res.out, gone));
    expect(await res.read('bay')).toBe('bay-contents');
  });

  it('testDockerignoreInvalid', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\nCOPY . .\n', '.dockerignore': '!\n' });
    const started = Date.now();
    const res = await r.local();
    // an error, and not after a hang (BuildKit's test times out at 15 s)
    expect(res.exitCode).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('testDockerignoreOverride', async () => {
    const r = await open({
      Dockerfile: df('FROM busybox\nCOPY . .\nRUN [ -f foo ] && [ ! -f bar ]'),
      'Dockerfile.dockerignore': '\nbar\n',
      Dockerfile2: df('FROM busybox\nCOPY . .\nRUN [ ! -f foo ] && [ -f bar ]'),
      'Dockerfile2.dockerignore': '\nfoo\n',
      foo: 'contents0',
      bar: 'contents0',
    });
    const first = await r.local();
    expect(first.exitCode, first.stderr).toBe(0);
    const second = await r.local(['-f', join(r.fx.context, 'Dockerfile2')]);
    expect(second.exitCode, second.stderr).toBe(0);
  });
});
