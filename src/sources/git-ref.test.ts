import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { parseGitRef } from './git-ref.js';

describe('parseGitRef: which sources are git', () => {
  it('http(s) URLs only when the path ends in .git; git://, ssh:// and scp forms always', () => {
    expect(parseGitRef('https://github.com/moby/buildkit.git')).toEqual({
      remote: 'https://github.com/moby/buildkit.git',
    });
    expect(parseGitRef('https://github.com/moby/buildkit')).toBeUndefined();
    expect(parseGitRef('https://example.com/file.tar.gz')).toBeUndefined();
    expect(parseGitRef('HTTP://h/r.git')).toEqual({ remote: 'HTTP://h/r.git' });
    expect(parseGitRef('git://host.xz:1234/path/to/repo.git')).toEqual({
      remote: 'git://host.xz:1234/path/to/repo.git',
    });
    expect(parseGitRef('ssh://git@github.com:22/moby/buildkit.git')).toEqual({
      remote: 'ssh://git@github.com:22/moby/buildkit.git',
    });
    expect(parseGitRef('git@github.com:moby/buildkit.git')).toEqual({ remote: 'git@github.com:moby/buildkit.git' });
    expect(parseGitRef('nonstandarduser@example.com:/srv/repos/weird/project.git')).toEqual({
      remote: 'nonstandarduser@example.com:/srv/repos/weird/project.git',
    });
  });

  it('a build context also takes github.com/… (BuildKit, deprecated) and file:// (tsbuild); ADD takes neither', () => {
    expect(parseGitRef('github.com/moby/buildkit#v0.12.0:frontend', { context: true })).toEqual({
      remote: 'https://github.com/moby/buildkit',
      ref: 'v0.12.0',
      subdir: 'frontend',
    });
    expect(parseGitRef('file:///srv/repo.git#main:app', { context: true })).toEqual({
      remote: 'file:///srv/repo.git',
      ref: 'main',
      subdir: 'app',
    });
    expect(parseGitRef('file:///srv/repo?branch=dev&keep-git-dir=1', { context: true })).toEqual({
      remote: 'file:///srv/repo',
      ref: 'refs/heads/dev',
      keepGitDir: true,
    });
    expect(parseGitRef('file:///srv/repo.git')).toBeUndefined();
    expect(parseGitRef('github.com/moby/buildkit')).toBeUndefined();
    expect(parseGitRef('./repo.git#main', { context: true })).toBeUndefined();
  });

  it('local paths, unknown schemes and the deprecated github.com/ form are not git', () => {
    for (const p of [
      './x.git',
      '../r.git',
      'repo.git',
      'dir/file',
      'github.com/moby/buildkit',
      'ftp://h/r.git',
      'httpx://h/r.git',
      'C:foo',
    ]) {
      expect(parseGitRef(p), p).toBeUndefined();
    }
  });
});

describe('parseGitRef: ref, subdir and options', () => {
  it('reads #ref:subdir', () => {
    expect(parseGitRef('https://h/r.git#v1.0.0')).toEqual({ remote: 'https://h/r.git', ref: 'v1.0.0' });
    expect(parseGitRef('https://h/r.git#v1.0.0:docs/sub')).toEqual({
      remote: 'https://h/r.git',
      ref: 'v1.0.0',
      subdir: 'docs/sub',
    });
    expect(parseGitRef('https://h/r.git#:sub')).toEqual({ remote: 'https://h/r.git', subdir: 'sub' });
    expect(parseGitRef('git@github.com:moby/buildkit.git#v1.0.0:hack')).toEqual({
      remote: 'git@github.com:moby/buildkit.git',
      ref: 'v1.0.0',
      subdir: 'hack',
    });
  });

  it('reads the ##key=value form', () => {
    expect(parseGitRef('https://h/r.git##ref=v1,subdir=/sub')).toEqual({
      remote: 'https://h/r.git',
      ref: 'v1',
      subdir: '/sub',
    });
    expect(parseGitRef(`https://h/r.git##commit=${'d'.repeat(40)}`)).toEqual({
      remote: 'https://h/r.git',
      ref: 'd'.repeat(40),
      checksum: 'd'.repeat(40),
    });
    expect(() => parseGitRef('https://h/r.git##ref=v1,bogus=1')).toThrow(/unexpected key 'bogus'/);
  });

  it('reads the query form; the remote keeps neither query nor fragment', () => {
    expect(parseGitRef('https://h/r.git?ref=base')).toEqual({ remote: 'https://h/r.git', ref: 'base' });
    expect(parseGitRef('https://h/r.git?branch=base')).toEqual({ remote: 'https://h/r.git', ref: 'refs/heads/base' });
    expect(parseGitRef('https://h/r.git?tag=v0.0.2#refs/tags/v0.0.2')).toEqual({
      remote: 'https://h/r.git',
      ref: 'refs/tags/v0.0.2',
    });
    expect(parseGitRef('https://h/r.git?subdir=sub&ref=feature')).toEqual({
      remote: 'https://h/r.git',
      ref: 'feature',
      subdir: 'sub',
    });
    // a short commit only checks what the default branch resolves to (BuildKit's testGitQueryString)
    expect(parseGitRef('https://h/r.git?commit=abc123')).toEqual({ remote: 'https://h/r.git', checksum: 'abc123' });
    const full = 'a'.repeat(40);
    expect(parseGitRef(`https://h/r.git?commit=${full}`)).toEqual({
      remote: 'https://h/r.git',
      ref: full,
      checksum: full,
    });
    expect(parseGitRef('https://h/r.git?keep-git-dir&submodules=false')).toEqual({
      remote: 'https://h/r.git',
      keepGitDir: true,
      submodules: false,
    });
  });

  it('refuses conflicting or unknown query keys with a UserError', () => {
    for (const [src, why] of [
      ['https://h/r.git?tag=v0.0.2#refs/heads/master', /ref conflicts/],
      ['https://h/r.git?tag=a&branch=b', /branch conflicts with tag/],
      ['https://h/r.git?ref=', /has no value/],
      ['https://h/r.git?ref=a&ref=b', /multiple values/],
      ['https://h/r.git?what=1', /unexpected query "what"/],
      ['https://h/r.git?keep-git-dir=maybe', /invalid keep-git-dir value/],
    ] as const) {
      let err: unknown;
      try {
        parseGitRef(src);
      } catch (e) {
        err = e;
      }
      expect(err, src).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(why);
    }
  });
});
