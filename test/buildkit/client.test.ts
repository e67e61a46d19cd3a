/**
 * BuildKit's frontend/dockerfile/dockerfile_client_test.go: tests of BuildKit's Go client and
 * gateway API (a frontend function solving requests). tsbuild has no such API; where a test's
 * behaviour shows through the CLI, that part is ported, the rest is skipped with that reason.
 */
import { describe, expect, it } from 'vitest';
import { df, rigsForFile } from './behaviours-rig.js';

const open = rigsForFile();

describe('BuildKit client and gateway API (dockerfile_client_test.go)', () => {
  // the gateway.v0 frontend with source=dockerfile.v0 is BuildKit's builtin Dockerfile frontend,
  // as tsbuild's is: a `# syntax=` naming the upstream Dockerfile frontend builds with it
  it('testGatewayBuiltinSyntaxSourceDockerfileV0 (the Dockerfile and its # syntax= line; no gateway.v0 here)', async () => {
    const r = await open({
      Dockerfile: df(`
# syntax=docker/dockerfile-upstream:master
FROM busybox AS build
RUN echo -n ok > /out
FROM scratch
COPY --from=build /out /out
`),
    });
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
    expect((await res.read('out')).trim()).toBe('ok');
  });

  it.skip("testFrontendUseForwardedSolveResults — BuildKit's Go gateway API, which tsbuild's CLI has no counterpart of (a frontend reusing a solved result in its own LLB)", () => {});

  // Evaluate solves without exporting: a build with no output, here, for one platform and two
  it('testFrontendEvaluate (a build with no output still fails on a missing file, one platform or two)', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\nCOPY badfile /\n' });
    const one = await r.cli([]);
    expect(one.exitCode).not.toBe(0);
    expect(one.stderr).toContain('"/badfile": not found');
    const two = await r.cli(['--platform', 'linux/amd64,linux/arm64']);
    expect(two.exitCode).not.toBe(0);
    expect(two.stderr).toContain('"/badfile": not found');
  });

  it.skip("testFrontendInputs — BuildKit's Go gateway API, which tsbuild's CLI has no counterpart of (the main context replaced by an LLB state)", () => {});
  it.skip("testFrontendSubrequests — BuildKit's Go gateway API, which tsbuild's CLI has no counterpart of (frontend.subrequests.describe and frontend caps)", () => {});
  it.skip("testNilContextInSolveGateway — BuildKit's Go gateway API, which tsbuild's CLI has no counterpart of (nil frontend input definitions)", () => {});
  it.skip("testMultiNilRefsInSolveGateway — BuildKit's Go gateway API, which tsbuild's CLI has no counterpart of (the CLI form, FROM scratch for two platforms, is testMultiNilRefsOCIExporter)", () => {});
});
