/**
 * BuildKit's frontend/dockerfile/dockerfile_copy_test.go, ported against our CLI (`busybox` and
 * `alpine` are the local busybox layout). A Go test that only solves asserts a successful build here,
 * its RUN checks doing the asserting.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileSpec } from '../helpers/build-fixture.js';
import { df, rigsForFile } from './behaviours-rig.js';

const open = rigsForFile();
async function build(files: Record<string, FileSpec>, args: string[] = []) {
  const r = await open(files);
  return r.local(args);
}
async function ok(files: Record<string, FileSpec>, args: string[] = []) {
  const res = await build(files, args);
  expect(res.exitCode, res.stderr).toBe(0);
  return res;
}
/**
 * Our busybox (Debian's busybox-static) has no `adduser` applet and not the user db of Docker's
 * busybox image: these lines give a stage the users and groups the Go tests rely on.
 */
const adduser = (name: string, id: number) =>
  `RUN echo '${name}:x:${id}:${id}::/home/${name}:/bin/sh' >> /etc/passwd && echo '${name}:x:${id}:' >> /etc/group`;
const BUSYBOX_USERS =
  "RUN echo 'daemon:x:1:1:daemon:/usr/sbin:/bin/false' >> /etc/passwd && echo 'daemon:x:1:' >> /etc/group && sed -i 's/^nogroup:/nobody:/' /etc/group";

/** `alpine` in BuildKit's Dockerfiles is our busybox too (they use nothing alpine has alone). */
const dfa = (text: string) => df(text.replace(/^(\s*FROM\s+)alpine\b/gim, '$1busybox'));

describe('BuildKit COPY (dockerfile_copy_test.go)', () => {
  it('testDockerfileCopyFromArgs', async () => {
    const res = await build({ Dockerfile: 'FROM scratch\nCOPY --from=$FOO . .\n' });
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toContain(
      'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
    );
  });

  it('testEmptyDestDir', async () => {
    await ok({
      Dockerfile: df('FROM busybox\nENV empty=""\nCOPY testfile $empty\nRUN [ "$(cat testfile)" == "contents0" ]'),
      testfile: 'contents0',
    });
  });

  it('testPreserveDestDirSlash', async () => {
    await ok({
      Dockerfile: df('FROM busybox\nCOPY testfile /sample/\nRUN [ "$(cat /sample/testfile)" == "contents0" ]'),
      testfile: 'contents0',
    });
  });

  it('testCopyLinkDotDestDir', async () => {
    await ok({
      Dockerfile: df(
        'FROM busybox\nWORKDIR /var/www\nCOPY --link testfile .\nRUN [ "$(cat testfile)" == "contents0" ]',
      ),
      testfile: 'contents0',
    });
  });

  it('testCopyLinkEmptyDestDir', async () => {
    await ok({
      Dockerfile: df(
        'FROM busybox\nWORKDIR /var/www\nENV empty=""\nCOPY --link testfile $empty\nRUN [ "$(cat testfile)" == "contents0" ]',
      ),
      testfile: 'contents0',
    });
  });

  it('testCopyChownExistingDir', async () => {
    const check = (e: string, p: string) =>
      `e="${e}"; p="${p}"; a=\`stat -c "%u:%g" "$p"\`; if [ "$a" != "$e" ]; then echo "incorrect ownership on $p. expected $e, got $a"; exit 1; fi`;
    const checks = (pairs: [string, string][]) => `RUN ${pairs.map(([e, p]) => check(e, p)).join(' \\\n && ')}`;
    const dockerfile = df(`
FROM busybox AS source
RUN touch /file && chown 100:200 /file \\
 && mkdir -p /dir/subdir \\
 && touch /dir/subdir/nestedfile \\
 && chown 100:200 /dir \\
 && chown 101:201 /dir/subdir \\
 && chown 102:202 /dir/subdir/nestedfile

FROM busybox AS test_base
RUN mkdir -p /existingdir/existingsubdir \\
 && touch /existingdir/existingfile \\
 && chown 500:600 /existingdir \\
 && chown 501:601 /existingdir/existingsubdir \\
 && chown 501:601 /existingdir/existingfile

FROM test_base AS copy_from
COPY --from=source /file .
COPY --from=source /dir /dir
COPY --from=source /dir/. /existingdir
${checks([
  ['100:200', '/file'],
  ['0:0', '/dir'],
  ['101:201', '/dir/subdir'],
  ['102:202', '/dir/subdir/nestedfile'],
  ['500:600', '/existingdir'],
  ['501:601', '/existingdir/existingsubdir'],
  ['501:601', '/existingdir/existingfile'],
  ['101:201', '/existingdir/subdir'],
  ['102:202', '/existingdir/subdir/nestedfile'],
])}

FROM test_base AS copy_from_chowned
COPY --from=source --chown=300:400 /file .
COPY --from=source --chown=300:400 /dir /dir
COPY --from=source --chown=300:400 /dir/. /existingdir
${checks([
  ['300:400', '/file'],
  ['300:400', '/dir'],
  ['300:400', '/dir/subdir'],
  ['300:400', '/dir/subdir/nestedfile'],
  ['500:600', '/existingdir'],
  ['501:601', '/existingdir/existingsubdir'],
  ['501:601', '/existingdir/existingfile'],
  ['300:400', '/existingdir/subdir'],
  ['300:400', '/existingdir/subdir/nestedfile'],
])}`);
    // the Dockerfile is a symlink to Dockerfile.web, as in the Go test
    const r = await open({ 'Dockerfile.web': dockerfile, Dockerfile: { symlink: 'Dockerfile.web' } });
    const last = await r.local();
    expect(last.exitCode, last.stderr).toBe(0);
    const copyFrom = await r.local(['--target', 'copy_from']);
    expect(copyFrom.exitCode, copyFrom.stderr).toBe(0);
  });

  it('testCopyWildcardCache', async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox AS base
COPY foo* files/
RUN cat /dev/urandom | head -c 100 | sha256sum > unique
COPY bar files/
FROM scratch
COPY --from=base unique /`),
      foo1: 'foo1-data',
      foo2: 'foo2-data',
      bar: 'bar-data',
    });
    const first = await r.local();
    expect(first.exitCode, first.stderr).toBe(0);
    const unique = await first.read('unique');
    await writeFile(join(r.fx.context, 'bar'), 'bar-data-mod');
    const second = await r.local();
    expect(second.exitCode, second.stderr).toBe(0);
    expect(await second.read('unique')).toBe(unique);
    await writeFile(join(r.fx.context, 'foo2'), 'foo2-data-mod');
    const third = await r.local();
    expect(third.exitCode, third.stderr).toBe(0);
    expect(await third.read('unique')).not.toBe(unique);
  });

  it('testEmptyWildcard', async () => {
    const res = await ok({ Dockerfile: 'FROM scratch\nCOPY foo nomatch* /\n', foo: 'contents0' });
    expect(await res.read('foo')).toBe('contents0');
  });

  it('testCopyChownCreateDest (users made without adduser, which our busybox lacks)', async () => {
    await ok(
      {
        Dockerfile: df(`
FROM busybox
ARG group
ENV owner user01
${adduser('user', 1001)}
${adduser('user01', 1002)}
COPY --chown=user:user . /dest
COPY --chown=\${owner}:\${group} . /dest01
RUN [ "$(stat -c "%U %G" /dest)" == "user user" ]
RUN [ "$(stat -c "%U %G" /dest01)" == "user01 user" ]`),
      },
      ['--build-arg', 'group=user'],
    );
  });

  it('testCopyThroughSymlinkContext', async () => {
    const res = await ok({
      Dockerfile: 'FROM scratch\nCOPY link/foo .\n',
      link: { symlink: 'sub' },
      'sub/foo': 'contents',
    });
    expect(await res.read('foo')).toBe('contents');
  });

  it('testCopyThroughSymlinkMultiStage', async () => {
    const res = await ok({
      Dockerfile: df(`
FROM busybox AS build
RUN mkdir -p /out/sub && ln -s /out/sub /sub && ln -s out/sub /sub2 && echo -n "data" > /sub/foo
FROM scratch
COPY --from=build /sub/foo .
COPY --from=build /sub2/foo bar`),
    });
    expect(await res.read('foo')).toBe('data');
  });

  it('testCopyFollowAllSymlinks', async () => {
    await ok({
      Dockerfile: 'FROM scratch\nCOPY foo /\nCOPY foo/sub bar\n',
      bar: 'bar-contents',
      'foo/sub': { symlink: '../bar' },
    });
  });

  it('testCopySymlinks', async () => {
    const res = await ok({
      Dockerfile: 'FROM scratch\nCOPY foo /\nCOPY sub/l* alllinks/\n',
      bar: 'bar-contents',
      foo: { symlink: 'bar' },
      'sub/lfile': 'lfile-contents',
      'sub/l0': { symlink: 'subfile' },
      'sub/subfile': 'subfile-contents',
      'sub/l1': { symlink: 'second' },
      'sub/second': { symlink: 'baz' },
      'sub/baz': 'baz-contents',
    });
    expect(await res.read('foo')).toBe('bar-contents');
    expect(await res.read('alllinks/l0')).toBe('subfile-contents');
    expect(await res.read('alllinks/lfile')).toBe('lfile-contents');
    expect(await res.read('alllinks/l1')).toBe('baz-contents');
  });

  it("testCopyChown (with the daemon user and nobody group of Docker's busybox added)", async () => {
    const res = await ok(
      {
        Dockerfile: df(`
FROM busybox AS base
ENV owner 1000
${BUSYBOX_USERS}
RUN mkdir -m 0777 /out
COPY --chown=daemon foo /
COPY --chown=1000:nobody bar /baz
ARG group
COPY --chown=\${owner}:\${group} foo /foobis
RUN stat -c "%U %G" /foo  > /out/fooowner
RUN stat -c "%u %G" /baz/sub  > /out/subowner
RUN stat -c "%u %G" /foobis  > /out/foobisowner
FROM scratch
COPY --from=base /out /`),
        foo: 'foo-contents',
        'bar/sub': '',
      },
      ['--build-arg', 'group=nobody'],
    );
    expect(await res.read('fooowner')).toBe('daemon daemon\n');
    expect(await res.read('subowner')).toBe('1000 nobody\n');
    expect(await res.read('foobisowner')).toBe('1000 nobody\n');
  });

  it('testCopyInvalidChmod', async () => {
    for (const mode of ['64a', '10000']) {
      const res = await build({ Dockerfile: `FROM scratch\nCOPY --chmod=${mode} foo /\n`, foo: 'foo-contents' });
      expect(res.exitCode).not.toBe(0);
      expect(res.stderr).toContain(
        `invalid chmod parameter: '${mode}'. it should be octal string and between 0 and 07777`,
      );
    }
  });

  it('testCopyOverrideFiles', async () => {
    const res = await ok({
      Dockerfile:
        'FROM scratch AS base\nCOPY sub sub\nCOPY sub sub\nCOPY files/foo.go dest/foo.go\nCOPY files/foo.go dest/foo.go\nCOPY files dest\n',
      'sub/dir1/dir2/foo': 'foo-contents',
      'files/foo.go': 'foo.go-contents',
    });
    expect(await res.read('sub/dir1/dir2/foo')).toBe('foo-contents');
    expect(await res.read('dest/foo.go')).toBe('foo.go-contents');
  });

  it('testCopyVarSubstitution', async () => {
    const res = await ok({ Dockerfile: 'FROM scratch AS base\nENV FOO bar\nCOPY $FOO baz\n', bar: 'bar-contents' });
    expect(await res.read('baz')).toBe('bar-contents');
  });

  it('testCopyWildcards', async () => {
    const res = await ok({
      Dockerfile: `FROM scratch AS base
COPY *.go /gofiles/
COPY f*.go foo2.go
COPY sub/* /subdest/
COPY sub/*/dir2/foo /subdest2/
COPY sub/*/dir2/foo /subdest3/bar
COPY . all/
COPY sub/dir1/ subdest4
COPY sub/dir1/. subdest5
COPY sub/dir1 subdest6
`,
      'foo.go': 'foo-contents',
      'bar.go': 'bar-contents',
      'sub/dir1/dir2/foo': 'foo-contents',
    });
    expect(await res.read('gofiles/foo.go')).toBe('foo-contents');
    expect(await res.read('gofiles/bar.go')).toBe('bar-contents');
    expect(await res.read('foo2.go')).toBe('foo-contents');
    expect(await res.read('subdest/dir2/foo')).toBe('foo-contents');
    expect(await res.read('subdest2/foo')).toBe('foo-contents');
    expect(await res.read('subdest3/bar')).toBe('foo-contents');
    expect(await res.read('all/foo.go')).toBe('foo-contents');
    expect(await res.read('subdest4/dir2/foo')).toBe('foo-contents');
    expect(await res.read('subdest5/dir2/foo')).toBe('foo-contents');
    expect(await res.read('subdest6/dir2/foo')).toBe('foo-contents');
  });

  it('testCopyRelative', async () => {
    await ok({
      Dockerfile: df(`
FROM busybox
WORKDIR /test1
WORKDIR test2
RUN sh -c "[ "$PWD" = '/test1/test2' ]"
COPY foo ./
RUN sh -c "[ $(cat /test1/test2/foo) = 'hello' ]"
ADD foo ./bar/baz
RUN sh -c "[ $(cat /test1/test2/bar/baz) = 'hello' ]"
COPY foo ./bar/baz2
RUN sh -c "[ $(cat /test1/test2/bar/baz2) = 'hello' ]"
WORKDIR ..
COPY foo ./
RUN sh -c "[ $(cat /test1/foo) = 'hello' ]"
COPY foo /test3/
RUN sh -c "[ $(cat /test3/foo) = 'hello' ]"
WORKDIR /test4
COPY . .
RUN sh -c "[ $(cat /test4/foo) = 'hello' ]"
WORKDIR /test5/test6
COPY foo ../
RUN sh -c "[ $(cat /test5/foo) = 'hello' ]"`),
      foo: 'hello',
    });
  });

  it('testCopyUnicodePath', async () => {
    const res = await ok({
      Dockerfile: dfa('FROM alpine\nCOPY test-äöü.txt /\nCOPY test-%C3%A4%C3%B6%C3%BC.txt /\nCOPY test+aou.txt /'),
      'test-äöü.txt': 'foo',
      'test-%C3%A4%C3%B6%C3%BC.txt': 'bar',
      'test+aou.txt': 'baz',
    });
    expect(await res.read('test-äöü.txt')).toBe('foo');
    expect(await res.read('test-%C3%A4%C3%B6%C3%BC.txt')).toBe('bar');
    expect(await res.read('test+aou.txt')).toBe('baz');
  });

  it('testChmodNonOctal', async () => {
    const cases = [
      { src: 'file', dst: 'f1', mode: 'go-w', isDir: false },
      { src: 'file', dst: 'f2', mode: 'u=rw,g=r,o=r', isDir: false },
      { src: 'file', dst: 'f3', mode: 'a+X', isDir: false },
      { src: 'dir', dst: 'd1', mode: 'go-w', isDir: true },
      { src: 'dir', dst: 'd2', mode: 'u+rw,g+r,o-x,o+w', isDir: true },
      { src: 'dir', dst: 'd3', mode: 'a+X', isDir: true },
    ];
    let expected = '';
    let copies = '';
    let verify = '';
    for (const tc of cases) {
      if (tc.isDir) {
        expected += `RUN mkdir -p /input/dirs/${tc.dst} && cp -a /input/${tc.src} /input/dirs/${tc.dst}/${tc.dst}\n`;
        expected += `RUN cp -a /input/dirs/${tc.dst}/. /expected/ && chmod ${tc.mode} /expected/${tc.dst}\n`;
        copies += `COPY --from=base --chmod=${tc.mode} /input/dirs/${tc.dst} /\n`;
      } else {
        expected += `RUN cp -a /input/${tc.src} /expected/${tc.dst} && chmod ${tc.mode} /expected/${tc.dst}\n`;
        copies += `COPY --from=base --chmod=${tc.mode} /input/${tc.src} /${tc.dst}\n`;
      }
      verify += `RUN [ "$(stat -c %A /actual/${tc.dst})" = "$(stat -c %A /expected/${tc.dst})" ]\n`;
    }
    await ok({
      Dockerfile: dfa(`
FROM alpine as base
RUN <<eot
	set -ex
	mkdir /input
	touch /input/file
	chmod 666 /input/file
	mkdir /input/dir
	chmod 124 /input/dir
	mkdir /expected
eot
${expected}
FROM scratch as result
${copies}
FROM base
COPY --from=result / /actual/
${verify}`),
    });
  });

  it('testLocalCustomSessionID (sessions are BuildKit client API: the same three dirs given as -f, the context and --build-context)', async () => {
    const r = await open({ out: 'contents1' });
    const dfDir = await mkdtemp(join(r.fx.dir, 'df-'));
    const another = join(r.fx.dir, 'another-dir');
    await mkdir(another);
    await writeFile(join(another, 'another'), 'contents2');
    await writeFile(
      join(dfDir, 'Dockerfile'),
      'FROM scratch AS base\nFROM scratch\nCOPY out /out1\nCOPY --from=base /another /out2\n',
    );
    const res = await r.local(['-f', join(dfDir, 'Dockerfile'), '--build-context', `base=${another}`]);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('out1')).toBe('contents1');
    expect(await res.read('out2')).toBe('contents2');
  });
});
