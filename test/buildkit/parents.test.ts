/**
 * BuildKit's frontend/dockerfile/dockerfile_parents_test.go, ported against our CLI (`alpine` is
 * the local busybox layout).
 */
import { describe, expect, it } from 'vitest';
import { df, rigsForFile } from './behaviours-rig.js';

const open = rigsForFile();
const dfa = (text: string) => df(text.replace(/^(\s*FROM\s+)alpine\b/gim, '$1busybox'));

describe('BuildKit COPY --parents (dockerfile_parents_test.go)', () => {
  it('testCopyParents', async () => {
    const r = await open({
      Dockerfile: 'FROM scratch\nCOPY --parents foo1/foo2/bar /\n\nWORKDIR /test\nCOPY --parents foo1/foo2/ba* .\n',
      'foo1/foo2/bar': 'testing',
      'foo1/foo2/baz': 'testing2',
    });
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('foo1/foo2/bar')).toBe('testing');
    expect(await res.read('test/foo1/foo2/bar')).toBe('testing');
    expect(await res.read('test/foo1/foo2/baz')).toBe('testing2');
  });

  it('testCopyRelativeParents', async () => {
    const r = await open({
      Dockerfile: dfa(`
FROM alpine AS base
WORKDIR /test
RUN <<eot
	set -ex
	mkdir -p a/b/c/d/e
	mkdir -p a/b2/c/d/e
	mkdir -p a/b/c2/d/e
	mkdir -p a/b/c2/d/e2
	touch a/b/c/d/foo
	touch a/b/c/d/e/bay
	touch a/b2/c/d/e/bar
	touch a/b/c2/d/e/baz
	touch a/b/c2/d/e2/baz
eot

FROM alpine AS middle
COPY --from=base --parents /test/a/b/./c/d /out/
RUN <<eot
	set -ex
	[ -d /out/c/d/e ]
	[ -f /out/c/d/foo ]
	[ ! -d /out/a ]
	[ ! -d /out/e ]
eot

FROM alpine AS end
COPY --from=base --parents /test/a/b/c/d/. /out/
RUN <<eot
	set -ex
	[ -d /out/test/a/b/c/d/e ]
	[ -f /out/test/a/b/c/d/foo ]
eot

FROM alpine AS start
COPY --from=base --parents ./test/a/b/c/d /out/
RUN <<eot
	set -ex
	[ -d /out/test/a/b/c/d/e ]
	[ -f /out/test/a/b/c/d/foo ]
eot

FROM alpine AS double
COPY --from=base --parents /test/a/./b/./c /out/
RUN <<eot
	set -ex
	[ -d /out/b/c/d/e ]
	[ -f /out/b/c/d/foo ]
eot

FROM alpine AS wildcard
COPY --from=base --parents /test/a/./*/c /out/
RUN <<eot
	set -ex
	[ -d /out/b/c/d/e ]
	[ -f /out/b2/c/d/e/bar ]
eot

FROM alpine AS doublewildcard
COPY --from=base --parents /test/a/b*/./c/**/e /out/
RUN <<eot
	set -ex
	[ -d /out/c/d/e ]
	[ -f /out/c/d/e/bay ] # via b
	[ -f /out/c/d/e/bar ] # via b2
eot

FROM alpine AS doubleinputs
COPY --from=base --parents /test/a/b/c*/./d/**/baz /test/a/b*/./c/**/bar /out/
RUN <<eot
	set -ex
	[ -f /out/d/e/baz ]
	[ ! -f /out/d/e/bay ]
	[ -f /out/d/e2/baz ]
	[ -f /out/c/d/e/bar ] # via b2
eot
`),
    });
    for (const target of ['middle', 'end', 'start', 'double', 'wildcard', 'doublewildcard', 'doubleinputs']) {
      const res = await r.local(['--target', target]);
      expect(res.exitCode, `${target}: ${res.stderr}`).toBe(0);
    }
  });

  it('testCopyParentsMissingDirectory', async () => {
    const r = await open({
      Dockerfile: dfa(`
FROM alpine AS base
WORKDIR /test
RUN <<eot
	set -ex
	mkdir -p a/b/c/d/e
	touch a/b/c/d/foo
	touch a/b/c/d/e/bay
eot

FROM alpine AS normal
COPY --from=base --parents /test/a/b/c/d /out/
RUN <<eot
	set -ex
	[ -d /out/test/a/b/c/d/e ]
	[ -f /out/test/a/b/c/d/e/bay ]
	[ ! -d /out/e ]
	[ ! -d /out/a ]
eot

FROM alpine AS withpivot
COPY --from=base --parents /test/a/b/./c/d /out/
RUN <<eot
	set -ex
	[ -d /out/c/d/e ]
	[ -f /out/c/d/foo ]
	[ ! -d /out/a ]
	[ ! -d /out/e ]
eot

FROM alpine AS nonexistentfile
COPY --from=base --parents /test/nonexistent-file /out/

FROM alpine AS wildcard-nonexistent
COPY --from=base --parents /test/a/b2*/c /out/
RUN <<eot
	set -ex
	[ -d /out ]
	[ ! -d /out/a ]
eot

FROM alpine AS wildcard-afterpivot
COPY --from=base --parents /test/a/b/./c2* /out/
RUN <<eot
	set -ex
	[ -d /out ]
	[ ! -d /out/a ]
	[ ! -d /out/c* ]
eot
`),
    });
    const tests: [string, RegExp | undefined][] = [
      ['normal', undefined],
      ['withpivot', undefined],
      ['nonexistentfile', /failed to calculate checksum of ref.*: "\/test\/nonexistent-file": not found/],
      ['wildcard-nonexistent', undefined],
      ['wildcard-afterpivot', undefined],
    ];
    for (const [target, error] of tests) {
      const res = await r.local(['--target', target]);
      if (error) {
        expect(res.exitCode, target).not.toBe(0);
        expect(res.stderr).toMatch(error);
      } else expect(res.exitCode, `${target}: ${res.stderr}`).toBe(0);
    }
  });
});
