import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError, UserError } from '../errors.js';
import { StatePaths } from '../store/state-paths.js';
import { resolveBuildContext } from './build-context.js';

describe('resolveBuildContext: stdin', () => {
  let root: string;
  let stateRoot: string;
  let tarball: Buffer;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'tsbuild-ctx-'));
    stateRoot = join(root, 'state');
    const src = join(root, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'Dockerfile'), 'FROM scratch\n');
    writeFileSync(join(src, 'sub', 'Dockerfile.dev'), 'FROM scratch\nCOPY a /\n');
    writeFileSync(join(src, 'a'), 'a\n');
    tarball = execFileSync('tar', ['-c', '-C', src, '.'], { maxBuffer: 1 << 24 });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const resolve = (input: Buffer | string, file?: string) =>
    resolveBuildContext('-', {
      ...(file !== undefined ? { file } : {}),
      stateRoot,
      keepGitDir: false,
      stdin: Readable.from([Buffer.from(input)]),
    });

  it('a tar, plain or gzipped, is the context, extracted under the state dir tmp and removed by cleanup', async () => {
    for (const input of [tarball, gzipSync(tarball)]) {
      const ctx = await resolve(input);
      expect(ctx.dir.startsWith(new StatePaths(stateRoot).tmp + '/')).toBe(true);
      expect(readFileSync(join(ctx.dir, 'a'), 'utf8')).toBe('a\n');
      expect(ctx.dockerfilePath).toBe(join(ctx.dir, 'Dockerfile'));
      expect(ctx.fetched).toEqual({ name: '-', key: 'stdin', dockerfileName: 'Dockerfile' });
      await ctx.cleanup();
      expect(readdirSync(new StatePaths(stateRoot).tmp)).toEqual([]);
    }
  });

  it('-f names a file inside the archive, and may not leave it', async () => {
    const ctx = await resolve(tarball, 'sub/Dockerfile.dev');
    expect(ctx.dockerfilePath).toBe(join(ctx.dir, 'sub/Dockerfile.dev'));
    expect(ctx.fetched?.dockerfileName).toBe('sub/Dockerfile.dev');
    await ctx.cleanup();
    await expect(resolve(tarball, '../x/Dockerfile')).rejects.toBeInstanceOf(UsageError);
    await expect(resolve(tarball, 'nope')).rejects.toThrow(/build context -: no Dockerfile nope in it/);
  });

  it('text is the Dockerfile of an empty context, as `docker build - < Dockerfile`', async () => {
    const ctx = await resolve('FROM scratch\nENV A=1\n');
    expect(ctx.dockerfileSource).toBe('FROM scratch\nENV A=1\n');
    expect(ctx.dockerfilePath).toBeUndefined();
    expect(readdirSync(ctx.dir)).toEqual([]);
    await ctx.cleanup();
  });

  it('usage errors: -f - with context -, a Dockerfile on stdin with -f, empty stdin', async () => {
    await expect(resolve(tarball, '-')).rejects.toThrow(/stdin cannot be both the build context and the Dockerfile/);
    await expect(resolve(tarball, '-')).rejects.toBeInstanceOf(UsageError);
    await expect(resolve('FROM scratch\n', 'Dockerfile')).rejects.toBeInstanceOf(UsageError);
    await expect(resolve('')).rejects.toBeInstanceOf(UsageError);
  });

  it('binary that is no tar, and a gzip holding no tar, are refused', async () => {
    await expect(resolve(Buffer.from([1, 2, 0, 3, 4]))).rejects.toThrow(/neither a tar archive nor a Dockerfile/);
    const err = await resolve(gzipSync('FROM scratch\n')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/gzip-compressed but holds no tar archive/);
    expect(readdirSync(new StatePaths(stateRoot).tmp)).toEqual([]);
  });

  it('a missing context is a usage error naming the forms', async () => {
    const err = await resolveBuildContext(join(root, 'missing'), {
      stateRoot,
      keepGitDir: false,
      stdin: Readable.from([]),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/is not a directory, a git repository or an http\(s\) URL/);
  });
});
