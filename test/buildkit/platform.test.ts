/**
 * BuildKit's frontend/dockerfile/dockerfile_platform_test.go against our CLI. tsbuild builds Linux
 * images only, so a Go test's non-Linux target platform is a Linux one here, and the tests of
 * Windows OS versions are skipped.
 */
import { describe, expect, it } from 'vitest';
import { df, rigsForFile } from './behaviours-rig.js';

const open = rigsForFile();

describe('BuildKit platform args (dockerfile_platform_test.go)', () => {
  it('testPlatformArgsImplicit', async () => {
    const r = await open({
      Dockerfile: 'FROM scratch AS build-linux\nCOPY foo bar\nFROM build-${TARGETOS}\nCOPY foo2 bar2\n',
      foo: 'd0',
      foo2: 'd1',
    });
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('bar')).toBe('d0');
    expect(await res.read('bar2')).toBe('d1');
  });

  it('testPlatformArgsExplicit (linux/ppc64le for darwin/ppc64le; the RUN runs on the build platform)', async () => {
    const r = await open({
      Dockerfile: df(`
FROM --platform=$BUILDPLATFORM busybox AS build
ARG TARGETPLATFORM
ARG TARGETOS
RUN mkdir /out && echo -n $TARGETPLATFORM > /out/platform && echo -n $TARGETOS > /out/os
FROM scratch
COPY --from=build out .
`),
    });
    const res = await r.local(['--platform', 'linux/ppc64le', '--build-arg', 'TARGETOS=freebsd']);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('platform')).toBe('linux/ppc64le');
    expect(await res.read('os')).toBe('freebsd');
  });

  it.skip('testPlatformWithOSVersion — tsbuild builds Linux images only; os.version selects only among windows images', () => {});
  it.skip('testMaintainBaseOSVersion — tsbuild builds Linux images only; the base os.version kept is a windows one', () => {});
});
