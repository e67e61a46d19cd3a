import { describe, expect, it } from 'vitest';
import { fakeBaseResolver } from '../../test/helpers/fake-base-image.js';
import { UserError } from '../errors.js';
import type { CopyOp } from '../solver/graph.js';
import { convertDockerfile } from './convert.js';
import { resolveDest } from './dispatch-copy.js';

const resolveImage = fakeBaseResolver({ architecture: 'amd64', history: [] });

async function copyOp(instruction: string, buildArgs: Record<string, string> = {}): Promise<CopyOp> {
  const plan = await convertDockerfile({
    file: 'Dockerfile',
    source: `FROM alpine\n${instruction}\n`,
    buildArgs: new Map(Object.entries(buildArgs)),
    resolveImage,
  });
  return plan.target.op as CopyOp;
}

async function copyError(instruction: string): Promise<UserError> {
  try {
    await copyOp(instruction);
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('no error');
}

const SHA = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('resolveDest', () => {
  it('keeps the trailing slash that makes a destination a directory', () => {
    expect(resolveDest('/app', '.')).toBe('/app/');
    expect(resolveDest('/app', 'sub/')).toBe('/app/sub/');
    expect(resolveDest('/app', 'sub/.')).toBe('/app/sub/');
    expect(resolveDest('/app', 'file')).toBe('/app/file');
    expect(resolveDest(undefined, 'x')).toBe('/x');
    expect(resolveDest('/app', '/abs/../y')).toBe('/y');
  });
});

describe('COPY/ADD --chmod', () => {
  it('keeps octal modes numeric and symbolic ones as written', async () => {
    expect((await copyOp('COPY --chmod=0755 a /a')).chmod).toBe(0o755);
    const sym = await copyOp('COPY --chmod=u=rwx,go=rx a /a');
    expect(sym.chmodSymbolic).toBe('u=rwx,go=rx');
    expect(sym.chmod).toBeUndefined();
    expect((await copyOp('ARG M=+x\nCOPY --chmod=$M a /a')).chmodSymbolic).toBe('+x');
  });

  it("refuses bad modes at the instruction, with BuildKit's wording for numbers", async () => {
    const err = await copyError('ADD --chmod=64a foo /');
    expect(err.message).toBe("invalid chmod parameter: '64a'. it should be octal string and between 0 and 07777");
    expect(err.location?.line).toBe(2);
    expect((await copyError('COPY --chmod=10000 a /')).message).toMatch(/between 0 and 07777/);
    const symbolic = await copyError('COPY --chmod=u*x a /');
    expect(symbolic.message).toMatch(/not an octal or symbolic mode/);
    expect(symbolic.location?.line).toBe(2);
    // the error the mode parser threw is kept, for --debug
    expect(symbolic.cause).toBeInstanceOf(UserError);
    expect((symbolic.cause as UserError).message).toBe(symbolic.message);
  });
});

describe('COPY --link, --parents, --exclude', () => {
  it('records --link and --parents on the op', async () => {
    const op = await copyOp('COPY --link --parents ./x/./y/*.txt /p/');
    expect(op).toMatchObject({ link: true, parents: true, sources: [{ kind: 'context', paths: ['./x/./y/*.txt'] }] });
    expect(op.unpackArchives).toBeUndefined();
  });

  it('expands --exclude patterns and refuses malformed ones', async () => {
    expect((await copyOp('ARG E=*.md\nCOPY --exclude=$E --exclude=tmp/** . /app/')).exclude).toEqual([
      '*.md',
      'tmp/**',
    ]);
    const err = await copyError('COPY --exclude=[z-a] . /app/');
    expect(err.message).toMatch(/invalid --exclude pattern/);
    expect(err.location).toBeDefined();
  });
});

describe('ADD sources', () => {
  it('local archives are extracted unless --unpack=false', async () => {
    expect((await copyOp('ADD a.tar /x/')).unpackArchives).toBe(true);
    expect((await copyOp('ADD --unpack=false a.tar /x/')).unpackArchives).toBe(false);
  });

  it('an http(s) URL is a url source named after its last path component', async () => {
    const op = await copyOp(`ADD --checksum=${SHA} https://example.com/dl/tool.tar.gz?x=1 /opt/`);
    expect(op.sources).toEqual([
      {
        kind: 'url',
        url: 'https://example.com/dl/tool.tar.gz?x=1',
        filename: 'tool.tar.gz',
        checksum: SHA,
        unpack: false,
      },
    ]);
    expect((await copyOp('ADD http://example.com/ /x/')).sources[0]).toMatchObject({ filename: '__unnamed__' });
    expect((await copyOp('ADD --unpack=true http://h/a%20b.tgz /x/')).sources[0]).toMatchObject({
      filename: 'a b.tgz',
      unpack: true,
    });
  });

  it('keeps URLs and local paths in the order written', async () => {
    const op = await copyOp('ADD a http://h/f b c /d/');
    expect(op.sources.map((s) => s.kind)).toEqual(['context', 'url', 'context']);
    expect(op.sources[2]).toEqual({ kind: 'context', paths: ['b', 'c'] });
  });

  it('a .git URL, git://, ssh:// and scp forms are git sources with ref and subdir', async () => {
    expect((await copyOp('ADD https://h/org/repo.git#v1.2:docs /src')).sources).toEqual([
      { kind: 'git', remote: 'https://h/org/repo.git', ref: 'v1.2', subdir: 'docs', keepGitDir: false },
    ]);
    expect((await copyOp('ADD --keep-git-dir=true git://127.0.0.1:9418/r.git /src')).sources).toEqual([
      { kind: 'git', remote: 'git://127.0.0.1:9418/r.git', keepGitDir: true },
    ]);
    expect((await copyOp('ADD git@github.com:moby/buildkit.git#main /src')).sources[0]).toMatchObject({
      kind: 'git',
      remote: 'git@github.com:moby/buildkit.git',
      ref: 'main',
    });
    expect((await copyOp('ADD --checksum=abc1234 https://h/r.git?branch=dev&subdir=x /src')).sources[0]).toMatchObject({
      ref: 'refs/heads/dev',
      subdir: 'x',
      checksum: 'abc1234',
    });
  });

  it('--checksum needs exactly one http or git source, in a valid form', async () => {
    expect((await copyError(`ADD --checksum=${SHA} a b /d/`)).message).toBe(
      "checksum can't be specified for multiple sources",
    );
    expect((await copyError(`ADD --checksum=${SHA} local.txt /d/`)).message).toBe(
      'checksum requires HTTP(S) or Git sources',
    );
    expect((await copyError('ADD --checksum=md5:7e55db001d319a94b0b713529a756623 http://h/f /d')).message).toMatch(
      /unsupported digest algorithm/,
    );
    expect((await copyError(`ADD --checksum=${SHA.slice(7)} http://h/f /d`)).message).toMatch(
      /invalid checksum digest format/,
    );
    const git = await copyError('ADD --checksum=foobar https://h/r.git#v1 /d');
    expect(git.message).toMatch(/invalid checksum "foobar": expected hex commit hash/);
    expect(git.location?.line).toBe(2);
  });

  it('COPY refuses URLs and git sources as BuildKit does', async () => {
    expect((await copyError('COPY http://h/f /d')).message).toBe("source can't be a URL for COPY");
    expect((await copyError('COPY https://h/r.git /d')).message).toBe("source can't be a git ref for COPY");
  });

  it('keep-git-dir in the flag and the URL must agree', async () => {
    expect((await copyError('ADD --keep-git-dir=true https://h/r.git?keep-git-dir=false /d')).message).toBe(
      'inconsistent keep-git-dir configuration',
    );
  });
});
