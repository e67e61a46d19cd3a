/**
 * A build for linux/amd64 and linux/arm64 from an amd64+arm64 busybox index (made by
 * fixtures/base/make-multiarch-layout.sh, pushed to a local registry as an index): the pushed
 * image is an index of both manifests, each platform's RUN ran on its architecture (arm64 under
 * QEMU through binfmt_misc), the `$BUILDPLATFORM` stage ran once, natively, and a no-op rebuild
 * runs nothing.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture, runCli, type Fixture } from '../helpers/build-fixture.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { MULTI_ARCH_LAYOUT, multiArchMissing } from '../helpers/multi-arch-base.js';

const run = promisify(execFile);
const LAYOUT = MULTI_ARCH_LAYOUT;

const skipReason = await multiArchMissing();
if (skipReason) console.warn(`multi-platform.test.ts skipped: ${skipReason}`);

describe.skipIf(!!skipReason)('--platform linux/amd64,linux/arm64', () => {
  let reg: TestRegistry;
  let fx: Fixture;
  beforeAll(async () => {
    reg = await startRegistry();
    await reg.push(LAYOUT, 'latest', 'tsb/multi:1', { all: true });
  });
  afterAll(async () => {
    await fx?.cleanup();
    await reg?.stop();
  });

  it('pushes an index of both platforms, each RUN on its own architecture, the build stage once; a rebuild runs nothing', async () => {
    const base = `${reg.host}/tsb/multi:1`;
    fx = await makeFixture({
      Dockerfile: [
        `FROM --platform=$BUILDPLATFORM ${base} AS build`,
        'RUN echo "made on $(uname -m)" > /tool',
        `FROM ${base}`,
        'ARG TARGETPLATFORM',
        'COPY --from=build /tool /tool',
        'RUN uname -m > /arch && echo "$TARGETPLATFORM" > /target',
        '',
      ].join('\n'),
    });
    const out = join(fx.dir, 'out');
    const args = [
      '--progress=plain',
      '--insecure-registry',
      reg.host,
      '--platform',
      'linux/amd64,linux/arm64',
      '-t',
      `${reg.host}/tsb/app:1`,
      '--push',
      '-o',
      `type=local,dest=${out}`,
      fx.context,
    ];
    const env = { TSBUILD_ROOT: fx.stateRoot };
    const started = Date.now();
    const first = await runCli(args, { env });
    const coldMs = Date.now() - started;
    expect(first.exitCode, first.stderr).toBe(0);

    // the registry has an index of both manifests
    const { stdout } = await run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${reg.host}/tsb/app:1`,
    ]);
    const index = JSON.parse(stdout) as { mediaType: string; manifests: { platform: { architecture: string } }[] };
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
    const arm = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--override-arch',
      'arm64',
      `docker://${reg.host}/tsb/app:1`,
    ]);
    expect(JSON.parse(arm.stdout)).toMatchObject({ Architecture: 'arm64', Os: 'linux' });

    // each platform's RUN ran on its architecture; the tool was made natively, for both
    const file = (p: string, f: string) => readFile(join(out, p, f), 'utf8');
    expect(await file('linux_amd64', 'arch')).toBe('x86_64\n');
    expect(await file('linux_arm64', 'arch')).toBe('aarch64\n');
    expect(await file('linux_arm64', 'target')).toBe('linux/arm64\n');
    expect(await file('linux_arm64', 'tool')).toBe('made on x86_64\n');

    // the $BUILDPLATFORM stage's RUN is one step that ran once; no arm64 build step exists
    const starts = (text: string, step: string) =>
      text.split('\n').filter((l) => l.includes(step) && /^#\d+ \[/.test(l)).length;
    expect(starts(first.stderr, '[linux/amd64 build 2/2] RUN echo')).toBe(1);
    expect(first.stderr).not.toContain('linux/arm64 build');
    expect(starts(first.stderr, '[linux/arm64 stage-1 3/3] RUN uname -m')).toBe(1);

    // a no-op rebuild runs no step
    const again = await runCli(args, { env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/running:/);
    expect(again.stderr).toMatch(/\[linux\/arm64 stage-1 3\/3\] RUN uname -m[^\n]*\n#\d+ CACHED/);
    console.log(`multi-platform cold build (amd64+arm64, push): ${coldMs} ms`);
  });
});
