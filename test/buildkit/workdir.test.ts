/**
 * BuildKit's frontend/dockerfile/dockerfile_workdir_test.go, ported against our CLI (`busybox` and
 * `alpine` are the local busybox layout, which has no `adduser`: users are written to /etc/passwd).
 */
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/build-fixture.js';
import { df, rig, type Rig } from './behaviours-rig.js';

const rigs: Rig[] = [];
afterAll(async () => {
  for (const r of rigs) await r.cleanup();
});
async function open(dockerfile: string): Promise<Rig> {
  const r = await rig({ Dockerfile: dockerfile });
  rigs.push(r);
  return r;
}
async function buildOk(dockerfile: string) {
  const res = await (await open(dockerfile)).local();
  expect(res.exitCode, res.stderr).toBe(0);
  return res;
}
const ADDUSER = "RUN echo 'user:x:1001:1001::/home/user:/bin/sh' >> /etc/passwd && echo 'user:x:1001:' >> /etc/group";

describe('BuildKit WORKDIR (dockerfile_workdir_test.go)', () => {
  it('testWorkdirCreatesDir', async () => {
    const res = await buildOk('FROM scratch\nWORKDIR /foo\nWORKDIR /\n');
    expect((await lstat(join(res.out, 'foo'))).isDirectory()).toBe(true);
  });

  it('testWorkdirSourceDateEpochReproducible', async () => {
    const r = await open(df('FROM busybox\nWORKDIR /mydir'));
    const epoch = String(Date.UTC(2023, 0, 10, 15, 34, 56) / 1000);
    const layout = async (n: number) => {
      const dest = join(r.fx.dir, `layout-${n}`);
      const res = await r.cli(['--build-arg', `SOURCE_DATE_EPOCH=${epoch}`, '-o', `type=oci,tar=false,dest=${dest}`]);
      expect(res.exitCode, res.stderr).toBe(0);
      return readFile(join(dest, 'index.json'), 'utf8');
    };
    const index1 = await layout(1);
    // prune all cache
    const pruned = await runCli(['prune', '--all'], { env: { TSBUILD_ROOT: r.fx.stateRoot } });
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    await new Promise((res) => setTimeout(res, 3000));
    expect(await layout(2)).toBe(index1);
  });

  it('testWorkdirUser (the user written to /etc/passwd: our busybox has no adduser)', async () => {
    await buildOk(
      df(`
FROM busybox
${ADDUSER}
USER user
WORKDIR /mydir
RUN [ "$(stat -c "%U %G" /mydir)" == "user user" ]`),
    );
  });

  it('testWorkdirCopyIgnoreRelative', async () => {
    await buildOk(`
FROM scratch AS base
WORKDIR /foo
COPY Dockerfile /
FROM scratch
# relative path still loaded as absolute
COPY --from=base Dockerfile .
`);
  });

  it('testWorkdirExists (the user written to /etc/passwd: our busybox has no adduser)', async () => {
    await buildOk(
      df(`
FROM busybox
${ADDUSER}
RUN mkdir /mydir && chown user:user /mydir
WORKDIR /mydir
RUN [ "$(stat -c "%U %G" /mydir)" == "user user" ]`),
    );
  });
});
