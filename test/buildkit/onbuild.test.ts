/**
 * BuildKit's frontend/dockerfile/dockerfile_onbuild_test.go, ported against our CLI. The images the
 * Go tests push to a registry are written as OCI layouts here (`oci-layout://…:latest`, the same
 * image), every build allowed to read them.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE } from '../helpers/build-fixture.js';
import { df, rig, type Rig } from './behaviours-rig.js';

const rigs: Rig[] = [];
let layouts = '';
beforeAll(async () => {
  layouts = await mkdtemp(join(tmpdir(), 'tsbuild-onbuild-'));
});
afterAll(async () => {
  for (const r of rigs) await r.cleanup();
  await rm(layouts, { recursive: true, force: true });
});
const allow = () => ['--allow', `fs.read=${layouts}`];
async function open(dockerfile: string): Promise<Rig> {
  const r = await rig({ Dockerfile: dockerfile });
  rigs.push(r);
  return r;
}
let pushed = 0;
/** Builds `dockerfile` into an OCI layout ("push") and returns the FROM reference of that image. */
async function push(dockerfile: string): Promise<string> {
  const dest = join(layouts, `image-${pushed++}`);
  const res = await (await open(dockerfile)).cli([
    ...allow(),
    '-t',
    'x:latest',
    '-o',
    `type=oci,tar=false,dest=${dest}`,
  ]);
  expect(res.exitCode, res.stderr).toBe(0);
  return `oci-layout://${dest}:latest`;
}
async function buildOk(dockerfile: string, args: string[] = []) {
  const res = await (await open(dockerfile)).local([...allow(), ...args]);
  expect(res.exitCode, res.stderr).toBe(0);
  return res;
}

describe('BuildKit ONBUILD (dockerfile_onbuild_test.go)', () => {
  it('testOnBuildCleared', async () => {
    const target = await push(df('FROM busybox\nONBUILD RUN mkdir -p /out && echo -n 11 >> /out/foo'));
    const target2 = await push(`\tFROM ${target}\n\t`);
    const res = await buildOk(`\tFROM ${target2} AS base\n\tFROM scratch\n\tCOPY --from=base /out /\n\t`);
    expect(await res.read('foo')).toBe('11');
  });

  it('testOnBuildWithChildStage', async () => {
    const target = await push(df('FROM busybox\nONBUILD RUN mkdir -p /out && echo -n yes >> /out/didrun'));
    const res = await buildOk(`
FROM ${target} AS base
RUN [ -f /out/didrun ] && touch /step1
RUN rm /out/didrun
RUN [ ! -f /out/didrun ] && touch /step2

FROM base AS child
RUN [ ! -f /out/didrun ] && touch /step3

FROM scratch
COPY --from=child /step* /
`);
    for (const f of ['step1', 'step2', 'step3']) expect(await res.read(f)).toBe('');
  });

  it('testOnBuildNamedContext', async () => {
    const ocidir = join(layouts, 'named');
    const made = await (await open(df('\tFROM busybox\n\tONBUILD COPY --from=otherstage /testfile /out/foo\n\t'))).cli([
      '-t',
      'x:latest',
      '-o',
      `type=oci,tar=false,dest=${ocidir}`,
    ]);
    expect(made.exitCode, made.stderr).toBe(0);
    const index = JSON.parse(await readFile(join(ocidir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests).toHaveLength(1);
    const res = await buildOk(
      df(`
FROM busybox AS otherstage
RUN echo -n "hello" > /testfile

FROM base AS inputstage

FROM scratch
COPY --from=inputstage /out/foo /bar`),
      ['--build-context', `base=oci-layout://${ocidir}@${index.manifests[0]!.digest}`],
    );
    expect(await res.read('bar')).toBe('hello');
  });

  it('testOnBuildInheritedStageRun', async () => {
    const res = await buildOk(
      df(`
FROM busybox AS base
ONBUILD RUN mkdir -p /out && echo -n 11 >> /out/foo

FROM base AS mid
RUN cp /out/foo /out/bar

FROM scratch
COPY --from=mid /out/bar /`),
    );
    expect(await res.read('bar')).toBe('11');
  });

  it('testOnBuildInheritedStageWithFrom', async () => {
    const res = await buildOk(
      df(`
FROM busybox AS src
RUN mkdir -p /in && echo -n 12 > /in/file

FROM busybox AS base
ONBUILD COPY --from=src /in/file /out/foo

FROM base AS mid
RUN cp /out/foo /out/bar

FROM scratch
COPY --from=mid /out/bar /`),
    );
    expect(await res.read('bar')).toBe('12');
  });

  it('testOnBuildNewDeps (the unrelated image is our busybox layout, its /etc/passwd for alpine-release)', async () => {
    const target = await push(df(`FROM busybox\nONBUILD COPY --from=${FROM_BASE} /etc/passwd /out/alpine-release2`));
    let res = await buildOk(
      `\tFROM ${target} AS base\n\tRUN cat /out/alpine-release2 > /out/alpine-release3\n\tFROM scratch\n\tCOPY --from=base /out /\n\t`,
    );
    expect((await res.read('alpine-release3')).length).toBeGreaterThan(5);

    // build another onbuild image to test nested case
    const target2 = await push(
      df(
        'FROM busybox\nONBUILD RUN --mount=type=bind,target=/in,from=inputstage mkdir /out && cat /in/foo > /out/bar && cat /in/out/alpine-release2 > /out/bar2',
      ),
    );
    res = await buildOk(`
	FROM ${target} AS inputstage
	RUN cat /out/alpine-release2 > /out/alpine-release4
	RUN echo -n foo > /foo
	FROM ${target2} AS base
	RUN echo -n bar3 > /out/bar3
	FROM scratch
	COPY --from=base /out /
	`);
    expect(await res.read('bar')).toBe('foo');
    expect((await res.read('bar2')).length).toBeGreaterThan(5);
    expect(await res.read('bar3')).toBe('bar3');
  });

  it('testOnBuildWithCacheMount', async () => {
    const target = await push(
      df('FROM busybox\nONBUILD RUN --mount=type=cache,target=/cache echo -n 42 >> /cache/foo && echo -n 11 >> /bar'),
    );
    await buildOk(
      `FROM ${target}\nRUN --mount=type=cache,target=/cache [ "$(cat /cache/foo)" = "42" ] && [ "$(cat /bar)" = "11" ]\n`,
    );
  });
});
