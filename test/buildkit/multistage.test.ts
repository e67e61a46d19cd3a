/**
 * BuildKit's frontend/dockerfile/dockerfile_multistage_test.go, ported against our CLI
 * (testOutOfOrderStage is in behaviours.test.ts). `busybox` as an image name in COPY --from is
 * our busybox layout.
 */
import { describe, expect, it } from 'vitest';
import { FROM_BASE } from '../helpers/build-fixture.js';
import { df, rigsForFile } from './behaviours-rig.js';

const open = rigsForFile();

describe('BuildKit multi-stage (dockerfile_multistage_test.go)', () => {
  it('testMultiStageImplicitFrom', async () => {
    let res = await (await open({ Dockerfile: `FROM scratch\nCOPY --from=${FROM_BASE} /etc/passwd test\n` })).local();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('test')).toContain('root');

    // testing masked image will load actual stage
    res = await (
      await open({
        Dockerfile: df(`
FROM busybox AS golang
RUN mkdir -p /usr/bin && echo -n foo > /usr/bin/go

FROM scratch
COPY --from=golang /usr/bin/go go`),
      })
    ).local();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('go')).toContain('foo');
  });

  it('testMultiStageCaseInsensitive', async () => {
    const r = await open({
      Dockerfile:
        'FROM scratch AS STAge0\nCOPY foo bar\nFROM scratch AS staGE1\nCOPY --from=staGE0 bar baz\nFROM scratch\nCOPY --from=stage1 baz bax\n',
      foo: 'foo-contents',
    });
    const res = await r.local(['--target', 'Stage1']);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('baz')).toContain('foo-contents');
  });

  it('testEmptyStages', async () => {
    const res = await (await open({ Dockerfile: 'ARG foo=bar' })).local();
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toContain('dockerfile contains no stages to build');
  });
});
