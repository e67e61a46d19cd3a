import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { IgnoreMatcher } from './dockerignore.js';
import {
  contextRelative,
  selectContext,
  splitParents,
  type ContextSelection,
  type SelectOptions,
} from './context-source.js';

const none: SelectOptions = { isIgnored: () => false };

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), content);
  }
}

function rels(sel: ContextSelection, source = 0): string[][] {
  return sel.sources[source]!.matches.map((m) => [m.root.rel, ...m.children.map((c) => c.rel)]);
}

function excluding(patterns: string[]): SelectOptions['exclude'] {
  return new IgnoreMatcher(patterns);
}

const parents: SelectOptions['parents'] = (include) => new IgnoreMatcher([include]);

function ignoring(patterns: string[]): SelectOptions {
  const m = new IgnoreMatcher(patterns);
  return { isIgnored: (r) => m.matches(r), canSkipDir: (r) => m.canSkipDir(r) };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

let ctx: string;
beforeEach(async () => {
  ctx = await mkdtemp(join(tmpdir(), 'tsbuild-context-source-test-'));
});
afterEach(async () => {
  await rm(ctx, { recursive: true, force: true });
});

describe('contextRelative', () => {
  it('normalises to a path relative to the context root', () => {
    expect(contextRelative('a/b')).toBe('a/b');
    expect(contextRelative('/a/b/')).toBe('a/b');
    expect(contextRelative('./a//b/./c')).toBe('a/b/c');
    expect(contextRelative('a/../b')).toBe('b');
    expect(contextRelative('.')).toBe('');
    expect(contextRelative('/')).toBe('');
    expect(contextRelative('a/..')).toBe('');
  });

  it('refuses paths that climb out of the context with a UserError', () => {
    for (const p of ['..', '../x', 'a/../../x', '/../etc/passwd', './..']) {
      let err: unknown;
      try {
        contextRelative(p);
      } catch (e) {
        err = e;
      }
      expect(err, p).toBeInstanceOf(UserError);
      expect((err as UserError).message).toMatch(/outside the build context/);
    }
  });
});

describe('selectContext: what is selected', () => {
  beforeEach(async () => {
    await writeTree(ctx, {
      'a.txt': 'A',
      'b.txt': 'B',
      'README.md': 'readme',
      'src/z.ts': 'z',
      'src/a.ts': 'a',
      'src/sub/c.ts': 'c',
      'src/sub/notes.md': 'n',
      'lib/x.txt': 'lx',
      'pkg/x.txt': 'px',
      'pkg/y.txt': 'py',
    });
  });

  it('a literal file is one match without children', async () => {
    const sel = await selectContext(ctx, ['a.txt'], none);
    expect(sel.sources).toHaveLength(1);
    expect(sel.sources[0]!.pattern).toBe('a.txt');
    const m = sel.sources[0]!.matches;
    expect(m).toHaveLength(1);
    expect(m[0]!.root).toMatchObject({ rel: 'a.txt', type: 'file', size: 1 });
    expect(m[0]!.children).toEqual([]);
  });

  it('normalises the pattern to a context-relative path', async () => {
    expect(rels(await selectContext(ctx, ['/src/../a.txt'], none))).toEqual([['a.txt']]);
    expect(rels(await selectContext(ctx, ['./src/sub/'], none))).toEqual([
      ['src/sub', 'src/sub/c.ts', 'src/sub/notes.md'],
    ]);
  });

  it('a directory is walked with children sorted, parents before children', async () => {
    const sel = await selectContext(ctx, ['src'], none);
    expect(rels(sel)).toEqual([['src', 'src/a.ts', 'src/sub', 'src/sub/c.ts', 'src/sub/notes.md', 'src/z.ts']]);
    const m = sel.sources[0]!.matches[0]!;
    expect(m.root.type).toBe('dir');
    expect(m.children.map((c) => c.type)).toEqual(['file', 'dir', 'file', 'file', 'file']);
  });

  it('the context root itself (".") selects everything', async () => {
    const sel = await selectContext(ctx, ['.'], none);
    expect(sel.sources[0]!.matches[0]!.root.rel).toBe('');
    expect(rels(sel)[0]).toEqual([
      '',
      'README.md',
      'a.txt',
      'b.txt',
      'lib',
      'lib/x.txt',
      'pkg',
      'pkg/x.txt',
      'pkg/y.txt',
      'src',
      'src/a.ts',
      'src/sub',
      'src/sub/c.ts',
      'src/sub/notes.md',
      'src/z.ts',
    ]);
  });

  it('wildcards match one path component at a time, sorted', async () => {
    expect(rels(await selectContext(ctx, ['*.txt'], none))).toEqual([['a.txt'], ['b.txt']]);
    // `*` does not cross `/`: src/sub/c.ts is not matched by src/*.ts
    expect(rels(await selectContext(ctx, ['src/*.ts'], none))).toEqual([['src/a.ts'], ['src/z.ts']]);
    expect(rels(await selectContext(ctx, ['*/x.txt'], none))).toEqual([['lib/x.txt'], ['pkg/x.txt']]);
    expect(rels(await selectContext(ctx, ['p?g/[xy].txt'], none))).toEqual([['pkg/x.txt'], ['pkg/y.txt']]);
    expect(rels(await selectContext(ctx, ['src/*/c.ts'], none))).toEqual([['src/sub/c.ts']]);
  });

  it('a wildcard matching a directory walks it', async () => {
    const sel = await selectContext(ctx, ['s*'], none);
    expect(rels(sel)).toEqual([['src', 'src/a.ts', 'src/sub', 'src/sub/c.ts', 'src/sub/notes.md', 'src/z.ts']]);
  });

  it('several patterns give several sources in order', async () => {
    const sel = await selectContext(ctx, ['b.txt', 'a.txt'], none);
    expect(sel.sources.map((s) => s.pattern)).toEqual(['b.txt', 'a.txt']);
    expect(rels(sel, 0)).toEqual([['b.txt']]);
    expect(rels(sel, 1)).toEqual([['a.txt']]);
  });

  it('a missing path is a UserError naming it', async () => {
    const err = await rejection(selectContext(ctx, ['nope.txt'], none));
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(
      'failed to compute cache key: failed to calculate checksum of ref context: "/nope.txt": not found (not in the build context, or excluded by .dockerignore)',
    );
  });

  it('a wildcard matching nothing is a UserError, unless empty wildcards are allowed (COPY/ADD)', async () => {
    const err = await rejection(selectContext(ctx, ['*.nothing'], none));
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/not found \(not in the build context/);
    const err2 = await rejection(selectContext(ctx, ['*/missing.txt'], none));
    expect((err2 as Error).message).toMatch(/not found \(not in the build context/);
    const empty = await selectContext(ctx, ['*.nothing', '*/missing.txt'], { ...none, allowEmptyWildcard: true });
    expect(empty.sources.map((s) => s.matches)).toEqual([[], []]);
  });

  it('the part before the first wildcard must exist, even when empty wildcards are allowed', async () => {
    const err = await rejection(selectContext(ctx, ['nodir/*.txt'], { ...none, allowEmptyWildcard: true }));
    expect((err as Error).message).toMatch(/"\/nodir\/\*\.txt": not found/);
  });

  it('wildcards do not descend through symlinked directories, but a symlinked prefix is followed', async () => {
    await symlink('src', join(ctx, 'srclink'));
    expect(rels(await selectContext(ctx, ['*/c.ts'], { ...none, allowEmptyWildcard: true }))).toEqual([]);
    expect(rels(await selectContext(ctx, ['srclink/*.ts'], none))).toEqual([['src/a.ts'], ['src/z.ts']]);
  });

  it('an escaped wildcard character is literal; a malformed class is a UserError', async () => {
    await writeFile(join(ctx, 'star*.txt'), 's');
    expect(rels(await selectContext(ctx, ['star[*].txt'], none))).toEqual([['star*.txt']]);
    // without a wildcard the path is taken as written, backslash and all (BuildKit does no unescaping)
    expect(await rejection(selectContext(ctx, ['star\\*.txt'], none))).toBeInstanceOf(UserError);
    const err = await rejection(selectContext(ctx, ['[z-a'], none));
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/syntax error in pattern/);
  });

  it('names a stage root instead of the context in "not found" errors', async () => {
    const err = await rejection(selectContext(ctx, ['nope'], { ...none, where: 'stage "build"' }));
    expect((err as Error).message).toBe(
      'failed to compute cache key: failed to calculate checksum of ref stage "build": "/nope": not found',
    );
  });

  it('a path climbing out of the context is a UserError', async () => {
    const err = await rejection(selectContext(ctx, ['../etc/passwd'], none));
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/outside the build context/);
  });

  it('a symlink inside a selected dir is kept as a link, with its target', async () => {
    await symlink('../a.txt', join(ctx, 'src', 'uplink'));
    const sel = await selectContext(ctx, ['src'], none);
    const up = sel.sources[0]!.matches[0]!.children.find((c) => c.rel === 'src/uplink');
    expect(up).toMatchObject({ type: 'symlink', linkTarget: '../a.txt' });
  });

  it('a symlink named as the source is followed inside the context and keeps its own name', async () => {
    await symlink('a.txt', join(ctx, 'link'));
    await symlink('/src', join(ctx, 'srclink'));
    await symlink('/../../../a.txt', join(ctx, 'climb'));
    const sel = await selectContext(ctx, ['link', 'srclink', 'climb'], none);
    expect(sel.sources[0]!.matches[0]!.name).toBe('link');
    expect(sel.sources[0]!.matches[0]!.root).toMatchObject({ rel: 'a.txt', type: 'file', size: 1 });
    const dir = sel.sources[1]!.matches[0]!;
    expect(dir.name).toBe('srclink');
    expect(dir.root).toMatchObject({ rel: 'src', type: 'dir' });
    expect(dir.children.map((c) => c.rel)).toEqual([
      'src/a.ts',
      'src/sub',
      'src/sub/c.ts',
      'src/sub/notes.md',
      'src/z.ts',
    ]);
    // an absolute target and `..` stay inside the context
    expect(sel.sources[2]!.matches[0]!.root.rel).toBe('a.txt');
  });

  it('a wildcard match that is a symlink is followed too', async () => {
    await symlink('b.txt', join(ctx, 'c.txt'));
    const sel = await selectContext(ctx, ['c.*'], none);
    expect(sel.sources[0]!.matches.map((m) => [m.name, m.root.rel])).toEqual([['c.txt', 'b.txt']]);
  });

  it('a dangling symlink source is "not found"', async () => {
    await symlink('missing', join(ctx, 'dangling'));
    const err = await rejection(selectContext(ctx, ['dangling'], none));
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/not found \(not in the build context/);
  });

  // .dockerignore is checked against the file a symlink leads to too: BuildKit sends the context
  // already filtered, so the link dangles there.
  it('a symlink does not smuggle in an ignored file', async () => {
    await writeFile(join(ctx, 'secret.env'), 'TOKEN=1');
    await symlink('secret.env', join(ctx, 'innocent'));
    const err = await rejection(selectContext(ctx, ['innocent'], ignoring(['secret.env'])));
    expect(err).toBeInstanceOf(UserError);
  });

  // A symlink loop in the context is a user mistake, not an internal error.
  it('a symlink loop is a UserError', async () => {
    await symlink('loop2', join(ctx, 'loop1'));
    await symlink('loop1', join(ctx, 'loop2'));
    const err = await rejection(selectContext(ctx, ['loop1'], none));
    expect(err).toBeInstanceOf(UserError);
  });

  it('records mode, owner and link count', async () => {
    await chmod(join(ctx, 'a.txt'), 0o4751);
    const sel = await selectContext(ctx, ['a.txt'], none);
    expect(sel.sources[0]!.matches[0]!.root).toMatchObject({
      mode: 0o4751,
      uid: process.getuid!(),
      gid: process.getgid!(),
      nlink: 1,
    });
  });
});

describe('selectContext: .dockerignore and --exclude', () => {
  beforeEach(async () => {
    await writeTree(ctx, {
      'app.js': 'app',
      'debug.log': 'log',
      'build/out.bin': 'bin',
      'build/deep/x.o': 'o',
      'secret/keep.txt': 'keep',
      'secret/other.txt': 'other',
      'docs/a.md': 'a',
      'docs/b.txt': 'b',
      'docs/sub/c.md': 'c',
    });
  });

  it('ignored files and skippable dirs are left out of a walk', async () => {
    const sel = await selectContext(ctx, ['.'], ignoring(['*.log', 'build']));
    expect(rels(sel)[0]).toEqual([
      '',
      'app.js',
      'docs',
      'docs/a.md',
      'docs/b.txt',
      'docs/sub',
      'docs/sub/c.md',
      'secret',
      'secret/keep.txt',
      'secret/other.txt',
    ]);
  });

  it('an ignored dir holding a re-included file appears, with only that file, when canSkipDir says no', async () => {
    const opts = ignoring(['secret', '!secret/keep.txt', 'build']);
    expect(opts.canSkipDir!('secret')).toBe(false);
    expect(opts.canSkipDir!('build')).toBe(true);
    const sel = await selectContext(ctx, ['.'], opts);
    const all = rels(sel)[0]!;
    expect(all).toContain('secret');
    expect(all).toContain('secret/keep.txt');
    expect(all).not.toContain('secret/other.txt');
    expect(all.filter((r) => r.startsWith('build'))).toEqual([]);
    // parent before child
    expect(all.indexOf('secret')).toBeLessThan(all.indexOf('secret/keep.txt'));
    expect(all.indexOf('secret')).toBe(all.indexOf('secret/keep.txt') - 1);
  });

  it('an ignored dir with nothing re-included does not appear even when walked', async () => {
    const sel = await selectContext(ctx, ['.'], {
      isIgnored: (r) => r === 'build' || r.startsWith('build/'),
      canSkipDir: () => false,
    });
    expect(rels(sel)[0]!.filter((r) => r.startsWith('build'))).toEqual([]);
  });

  it('without canSkipDir an ignored dir is skipped whole', async () => {
    const m = new IgnoreMatcher(['secret', '!secret/keep.txt']);
    const sel = await selectContext(ctx, ['.'], { isIgnored: (r) => m.matches(r) });
    expect(rels(sel)[0]!.filter((r) => r.startsWith('secret'))).toEqual([]);
  });

  it('an ignored file named literally is "not found"', async () => {
    const err = await rejection(selectContext(ctx, ['debug.log'], ignoring(['*.log'])));
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/not found \(not in the build context, or excluded by \.dockerignore\)/);
  });

  it('wildcard matches that are ignored are dropped; all ignored is "not found"', async () => {
    await writeFile(join(ctx, 'trace.log'), 't');
    await writeFile(join(ctx, 'keep.log'), 'k');
    const sel = await selectContext(ctx, ['*.log'], ignoring(['*.log', '!keep.log']));
    expect(rels(sel)).toEqual([['keep.log']]);
    const err = await rejection(selectContext(ctx, ['*.log'], ignoring(['*.log'])));
    expect(err).toBeInstanceOf(UserError);
  });

  it('--exclude drops files and whole dirs, relative to the source', async () => {
    const sel = await selectContext(ctx, ['docs'], { ...none, exclude: excluding(['*.md']) });
    // `*.md` matches relative to docs/, one component: docs/sub/c.md stays
    expect(rels(sel)).toEqual([['docs', 'docs/b.txt', 'docs/sub', 'docs/sub/c.md']]);
    const sel2 = await selectContext(ctx, ['docs'], { ...none, exclude: excluding(['sub']) });
    expect(rels(sel2)).toEqual([['docs', 'docs/a.md', 'docs/b.txt']]);
    const sel3 = await selectContext(ctx, ['.'], {
      ...none,
      exclude: excluding(['docs/sub/*.md', 'build', 'secret', '*.log']),
    });
    expect(rels(sel3)[0]).toEqual(['', 'app.js', 'docs', 'docs/a.md', 'docs/b.txt', 'docs/sub']);
  });

  it('--exclude patterns are patternmatcher patterns: ** crosses directories, ! re-includes', async () => {
    const sel = await selectContext(ctx, ['.'], { ...none, exclude: excluding(['**/*.md']) });
    expect(rels(sel)[0]).toEqual([
      '',
      'app.js',
      'build',
      'build/deep',
      'build/deep/x.o',
      'build/out.bin',
      'debug.log',
      'docs',
      'docs/b.txt',
      'docs/sub',
      'secret',
      'secret/keep.txt',
      'secret/other.txt',
    ]);
    const sel2 = await selectContext(ctx, ['.'], {
      ...none,
      exclude: excluding(['docs', '!docs/sub/c.md', 'build', 'secret', '*.log']),
    });
    // docs itself is excluded but reappears as the parent of the re-included file
    expect(rels(sel2)[0]).toEqual(['', 'app.js', 'docs', 'docs/sub', 'docs/sub/c.md']);
  });

  it('--exclude never drops a matched source itself (BuildKit matches below the source only)', async () => {
    const sel = await selectContext(ctx, ['*.log', 'docs'], { ...none, exclude: excluding(['*.log', 'docs']) });
    expect(rels(sel, 0)).toEqual([['debug.log']]);
    expect(rels(sel, 1)).toEqual([['docs', 'docs/a.md', 'docs/b.txt', 'docs/sub', 'docs/sub/c.md']]);
  });

  it('--exclude and .dockerignore combine', async () => {
    const sel = await selectContext(ctx, ['.'], { ...ignoring(['build', 'secret']), exclude: excluding(['docs']) });
    expect(rels(sel)[0]).toEqual(['', 'app.js', 'debug.log']);
  });
});

describe('selectContext: --parents', () => {
  beforeEach(async () => {
    await writeTree(ctx, {
      'foo1/foo2/bar': 'testing',
      'foo1/foo2/baz': 'testing2',
      'foo1/other': 'o',
      'x/y/a.txt': 'a',
      'x/y/b.txt': 'b',
      'src/a.txt': 'a',
      'src/x/b.txt': 'b',
      'src/x/y/c.txt': 'c',
      'src/x/y/d.md': 'd',
      'test/a/b/c/d/foo': 'f',
      'test/a/b/c/d/e/bay': 'y',
      'test/a/b2/c/d/e/bar': 'r',
    });
  });

  it('splits a source at its first /./ pivot; without one the base is the root', () => {
    expect(splitParents('foo1/foo2/bar')).toEqual({ base: '/', include: 'foo1/foo2/bar' });
    expect(splitParents('./x/./y/*.txt')).toEqual({ base: './x', include: 'y/*.txt' });
    expect(splitParents('/test/a/b/./c/d')).toEqual({ base: '/test/a/b', include: 'c/d' });
    expect(splitParents('/test/a/./b/./c')).toEqual({ base: '/test/a', include: 'b/c' });
    expect(splitParents('/test/a/b/c/d/.')).toEqual({ base: '/', include: 'test/a/b/c/d' });
    expect(splitParents('./test/a')).toEqual({ base: '/', include: 'test/a' });
  });

  it('keeps the path from the base down to each selected file', async () => {
    const sel = await selectContext(ctx, ['foo1/foo2/bar'], { ...none, parents });
    expect(rels(sel)).toEqual([['', 'foo1', 'foo1/foo2', 'foo1/foo2/bar']]);
    const sel2 = await selectContext(ctx, ['foo1/foo2/ba*'], { ...none, parents });
    expect(rels(sel2)).toEqual([['', 'foo1', 'foo1/foo2', 'foo1/foo2/bar', 'foo1/foo2/baz']]);
  });

  it('the pivot drops the directories above it; a selected directory comes whole', async () => {
    expect(rels(await selectContext(ctx, ['./x/./y/*.txt'], { ...none, parents }))).toEqual([
      ['x', 'x/y', 'x/y/a.txt', 'x/y/b.txt'],
    ]);
    expect(rels(await selectContext(ctx, ['/test/a/b/./c/d'], { ...none, parents }))).toEqual([
      ['test/a/b', 'test/a/b/c', 'test/a/b/c/d', 'test/a/b/c/d/e', 'test/a/b/c/d/e/bay', 'test/a/b/c/d/foo'],
    ]);
  });

  it('** crosses directories and a wildcard base selects several bases', async () => {
    expect(rels(await selectContext(ctx, ['./src/**/*.txt'], { ...none, parents }))[0]).toEqual([
      '',
      'src',
      'src/a.txt',
      'src/x',
      'src/x/b.txt',
      'src/x/y',
      'src/x/y/c.txt',
    ]);
    expect(rels(await selectContext(ctx, ['/test/a/b*/./c/**/e'], { ...none, parents }))).toEqual([
      ['test/a/b', 'test/a/b/c', 'test/a/b/c/d', 'test/a/b/c/d/e', 'test/a/b/c/d/e/bay'],
      ['test/a/b2', 'test/a/b2/c', 'test/a/b2/c/d', 'test/a/b2/c/d/e', 'test/a/b2/c/d/e/bar'],
    ]);
  });

  it('a named path without wildcards must exist', async () => {
    const err = await rejection(selectContext(ctx, ['foo1/nope'], { ...none, parents }));
    expect((err as Error).message).toMatch(/"\/foo1\/nope": not found/);
  });
});

describe('selectContext: the digest', () => {
  beforeEach(async () => {
    await writeTree(ctx, { 'app/main.js': 'main', 'app/lib/util.js': 'util', 'other.txt': 'other', 'top.txt': 'top' });
    await symlink('main.js', join(ctx, 'app', 'entry'));
  });
  const digest = async (patterns = ['app', 'top.txt'], opts: SelectOptions = none) =>
    (await selectContext(ctx, patterns, opts)).digest;

  it('is a sha256 digest and repeatable', async () => {
    const d = await digest();
    expect(d).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(await digest()).toBe(d);
  });

  it('ignores mtimes (touch)', async () => {
    const d = await digest();
    const t = new Date('2001-02-03T04:05:06Z');
    for (const p of ['app/main.js', 'app/lib/util.js', 'app/lib', 'app', 'top.txt']) await utimes(join(ctx, p), t, t);
    expect(await digest()).toBe(d);
  });

  it('ignores files that are not selected', async () => {
    const d = await digest();
    await writeFile(join(ctx, 'other.txt'), 'changed');
    await writeFile(join(ctx, 'new.txt'), 'new');
    await mkdir(join(ctx, 'newdir'));
    expect(await digest()).toBe(d);
  });

  it('ignores files excluded or ignored inside a selected dir', async () => {
    await writeFile(join(ctx, 'app', 'x.log'), 'one');
    const withIgnore = ignoring(['**/*.log']);
    const d1 = await digest(['app'], withIgnore);
    const d2 = await digest(['app'], { ...none, exclude: excluding(['x.log']) });
    await writeFile(join(ctx, 'app', 'x.log'), 'two');
    expect(await digest(['app'], withIgnore)).toBe(d1);
    expect(await digest(['app'], { ...none, exclude: excluding(['x.log']) })).toBe(d2);
  });

  it('changes with file content, even at the same size', async () => {
    const d = await digest();
    await writeFile(join(ctx, 'app/lib/util.js'), 'UTIL');
    expect(await digest()).not.toBe(d);
  });

  it('changes with a mode', async () => {
    const d = await digest();
    await chmod(join(ctx, 'top.txt'), 0o755);
    expect(await digest()).not.toBe(d);
  });

  it('changes with a directory mode', async () => {
    const d = await digest();
    await chmod(join(ctx, 'app/lib'), 0o700);
    expect(await digest()).not.toBe(d);
  });

  it('changes with the name a followed symlink source is copied under', async () => {
    await mkdir(join(ctx, 'links'));
    await symlink('/top.txt', join(ctx, 'links', 'one'));
    const before = await selectContext(ctx, ['links/*'], none);
    expect(before.sources[0]!.matches.map((m) => [m.name, m.root.rel])).toEqual([['one', 'top.txt']]);
    await rename(join(ctx, 'links', 'one'), join(ctx, 'links', 'two'));
    const after = await selectContext(ctx, ['links/*'], none);
    expect(after.sources[0]!.matches.map((m) => [m.name, m.root.rel])).toEqual([['two', 'top.txt']]);
    expect(after.digest).not.toBe(before.digest);
  });

  it('changes with a symlink target', async () => {
    const d = await digest();
    await rm(join(ctx, 'app', 'entry'));
    await symlink('lib/util.js', join(ctx, 'app', 'entry'));
    expect(await digest()).not.toBe(d);
  });

  it('changes with a file name (same content)', async () => {
    const d = await digest();
    await rename(join(ctx, 'app/lib/util.js'), join(ctx, 'app/lib/util2.js'));
    expect(await digest()).not.toBe(d);
  });

  it('changes when a selected dir gains a file', async () => {
    const d = await digest();
    await writeFile(join(ctx, 'app', 'new.js'), '');
    expect(await digest()).not.toBe(d);
  });

  it('changes with the pattern even when the same file is selected', async () => {
    expect(await digest(['top.txt'])).not.toBe(await digest(['/top.txt']));
  });

  it('asks hashFile for each regular file only, and uses its answer', async () => {
    const asked: string[] = [];
    const opts: SelectOptions = {
      isIgnored: () => false,
      hashFile: async (abs, e) => {
        asked.push(e.rel);
        expect(abs).toBe(join(ctx, e.rel));
        return 'fixed';
      },
    };
    const d = await digest(['app', 'top.txt'], opts);
    expect(asked.sort()).toEqual(['app/lib/util.js', 'app/main.js', 'top.txt']);
    // the stat-cache answer is all that counts: a content change it does not report is invisible
    await writeFile(join(ctx, 'top.txt'), 'different');
    expect(await digest(['app', 'top.txt'], opts)).toBe(d);
  });
});
