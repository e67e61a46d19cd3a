import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyContext } from './context-arg.js';

describe('classifyContext: the forms of docker/buildx build CONTEXT', () => {
  let root: string;
  let work: string;
  let bare: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'tsbuild-ctxarg-'));
    work = join(root, 'work');
    bare = join(root, 'srv', 'repo.git');
    execFileSync('git', ['init', '-q', work]);
    execFileSync('git', ['init', '-q', '--bare', bare]);
    mkdirSync(join(root, 'plain'));
    mkdirSync(join(root, 'github.com', 'moby', 'buildkit'), { recursive: true });
    writeFileSync(join(root, 'file.txt'), 'x');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('- is stdin; an existing directory is a local context, a git work tree too (buildx sends its files)', () => {
    expect(classifyContext('-', root)).toEqual({ kind: 'stdin' });
    expect(classifyContext('plain', root)).toEqual({ kind: 'dir', dir: join(root, 'plain') });
    expect(classifyContext(work, root)).toEqual({ kind: 'dir', dir: work });
    // buildx checks for a local directory before it parses a git reference
    expect(classifyContext('github.com/moby/buildkit', root)).toEqual({
      kind: 'dir',
      dir: join(root, 'github.com/moby/buildkit'),
    });
  });

  it("git URLs as BuildKit's ParseGitRef reads them, with #ref:subdir and the query form", () => {
    expect(classifyContext('https://github.com/moby/buildkit.git#v0.10.0:frontend/dockerfile', root)).toEqual({
      kind: 'git',
      git: { remote: 'https://github.com/moby/buildkit.git', ref: 'v0.10.0', subdir: 'frontend/dockerfile' },
    });
    expect(classifyContext('https://h.example/r.git?ref=main&subdir=docs', root)).toEqual({
      kind: 'git',
      git: { remote: 'https://h.example/r.git', ref: 'main', subdir: 'docs' },
    });
    expect(classifyContext('git@github.com:moby/buildkit.git#main', root)).toEqual({
      kind: 'git',
      git: { remote: 'git@github.com:moby/buildkit.git', ref: 'main' },
    });
    expect(classifyContext('git://127.0.0.1:9418/repo.git#:sub', root)).toEqual({
      kind: 'git',
      git: { remote: 'git://127.0.0.1:9418/repo.git', subdir: 'sub' },
    });
    expect(classifyContext('ssh://git@h.example/srv/r.git#refs/tags/v1', root)).toEqual({
      kind: 'git',
      git: { remote: 'ssh://git@h.example/srv/r.git', ref: 'refs/tags/v1' },
    });
    // deprecated in BuildKit but still a context form: github.com/… without a scheme
    expect(classifyContext('github.com/docker/cli#master:sub', root)).toEqual({
      kind: 'git',
      git: { remote: 'https://github.com/docker/cli', ref: 'master', subdir: 'sub' },
    });
  });

  it('file:// URLs and local repositories: a bare repository, or PATH#ref:subdir', () => {
    expect(classifyContext(`file://${bare}#v1:app`, root)).toEqual({
      kind: 'git',
      git: { remote: `file://${bare}`, ref: 'v1', subdir: 'app' },
    });
    expect(classifyContext('srv/repo.git', root)).toEqual({ kind: 'git', git: { remote: bare } });
    expect(classifyContext('srv/repo.git#main', root)).toEqual({ kind: 'git', git: { remote: bare, ref: 'main' } });
    expect(classifyContext(`${work}#feature:sub/dir`, root)).toEqual({
      kind: 'git',
      git: { remote: work, ref: 'feature', subdir: 'sub/dir' },
    });
    expect(classifyContext('work##ref=v2,subdir=x', root)).toEqual({
      kind: 'git',
      git: { remote: work, ref: 'v2', subdir: 'x' },
    });
  });

  it('other http(s) URLs are downloads (a tarball or a Dockerfile)', () => {
    expect(classifyContext('https://example.com/ctx.tar.gz', root)).toEqual({
      kind: 'url',
      url: 'https://example.com/ctx.tar.gz',
    });
    expect(classifyContext('http://127.0.0.1:8080/Dockerfile', root)).toEqual({
      kind: 'url',
      url: 'http://127.0.0.1:8080/Dockerfile',
    });
    // an https repository without .git is not git to BuildKit either
    expect(classifyContext('https://github.com/moby/buildkit', root)).toEqual({
      kind: 'url',
      url: 'https://github.com/moby/buildkit',
    });
  });

  it('nothing: a missing path, a file, a path#fragment that is no repository, other schemes', () => {
    for (const arg of ['no-such-dir', './missing.git', 'file.txt', 'plain#main', 'ftp://h/r.git', 's3://b/ctx.tgz']) {
      expect(classifyContext(arg, root), arg).toBeUndefined();
    }
  });
});
