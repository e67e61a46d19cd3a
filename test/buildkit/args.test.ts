/**
 * BuildKit's frontend/dockerfile/dockerfile_args_test.go, ported against our CLI. Image names
 * built from ARGs (`busy$a2`) become the local layout's path with the same tail
 * (`oci-layout://…/fixtures/base/busy$a2`), so the expansion is still what is tested.
 */
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASE_LAYOUT } from '../helpers/build-fixture.js';
import { df, rigsForFile } from './behaviours-rig.js';

const BASES = `oci-layout://${dirname(BASE_LAYOUT)}`;
const open = rigsForFile();

describe('BuildKit ARG (dockerfile_args_test.go)', () => {
  it('testGlobalArg', async () => {
    const r = await open({ Dockerfile: `ARG tag=nosuchtag\nFROM ${BASES}/busybox:\${tag}\n` });
    const res = await r.local(['--build-arg', 'tag=latest']);
    expect(res.exitCode, res.stderr).toBe(0);
  });

  it('testGlobalArgErrors', async () => {
    const r = await open({ Dockerfile: df('ARG FOO=${FOO:?"custom error"}\nFROM busybox') });
    const bad = await r.local();
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain('FOO: custom error');
    const good = await r.local(['--build-arg', 'FOO=bar']);
    expect(good.exitCode, good.stderr).toBe(0);
  });

  it('testArgDefaultExpansion', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\nARG FOO\nARG BAR=${FOO:?"foo missing"}\n' });
    const bad = await r.local();
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain('FOO: foo missing');
    const foo = await r.local(['--build-arg', 'FOO=123']);
    expect(foo.exitCode, foo.stderr).toBe(0);
    const bar = await r.local(['--build-arg', 'BAR=123']);
    expect(bar.exitCode, bar.stderr).toBe(0);
  });

  it('testMultiArgs', async () => {
    const r = await open({
      Dockerfile: `
ARG a1="foo bar" a2=box
ARG a3="$a2-foo"
FROM ${BASES}/busy$a2 AS build
ARG a3 a4="123 456" a1
RUN echo -n "$a1:$a3:$a4" > /out
FROM scratch
COPY --from=build /out .
`,
    });
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('out')).toBe('foo bar:box-foo:123 456');
  });

  it('testQuotedMetaArgs', async () => {
    const r = await open({
      Dockerfile: `
ARG a1="box"
ARG a2="$a1-foo"
FROM ${BASES}/busy$a1 AS build
ARG a2
ARG a3="bar-$a2"
RUN echo -n $a3 > /out
FROM scratch
COPY --from=build /out .
`,
    });
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('out')).toBe('bar-box-foo');
  });

  it('testBuiltinArgs', async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox AS build
ARG FOO
ARG BAR
ARG BAZ=bazcontent
RUN echo -n $HTTP_PROXY::$NO_PROXY::$FOO::$BAR::$BAZ > /out
FROM scratch
COPY --from=build /out /
`),
    });
    const ba = (kv: Record<string, string>) => Object.entries(kv).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
    const first = await r.local(ba({ FOO: 'foocontents', http_proxy: 'hpvalue', NO_PROXY: 'npvalue' }));
    expect(first.exitCode, first.stderr).toBe(0);
    expect(await first.read('out')).toBe('hpvalue::npvalue::foocontents::::bazcontent');
    // repeat with changed default args should match the old cache
    const cached = await r.local(ba({ FOO: 'foocontents', http_proxy: 'hpvalue2' }));
    expect(cached.exitCode, cached.stderr).toBe(0);
    expect(await cached.read('out')).toBe('hpvalue::npvalue::foocontents::::bazcontent');
    // changing actual value invalidates cache
    const changed = await r.local(ba({ FOO: 'foocontents2', http_proxy: 'hpvalue2' }));
    expect(changed.exitCode, changed.stderr).toBe(0);
    expect(await changed.read('out')).toBe('hpvalue2::::foocontents2::::bazcontent');
  });

  describe('testDefaultEnvWithArgs', () => {
    it.each([
      ['nil', [], 'my_arg=def_val my_arg=def_val my_arg=d'],
      ['empty', ['--build-arg', 'my_arg='], 'my_arg=def_val my_arg=def_val my_arg=d'],
      ['override', ['--build-arg', 'my_arg=override'], 'my_arg=override my_arg=override my_arg=ov'],
    ])('%s', async (_name, args, expected) => {
      const r = await open({
        Dockerfile: `
ARG image=idlebox
FROM ${BASES}/busy\${image#idle} AS build
ARG my_arg
ENV my_arg "my_arg=\${my_arg:-def_val}"
ENV my_trimmed_arg "\${my_arg%%e*}"
COPY myscript.sh myscript.sh
RUN ./myscript.sh $my_arg $my_trimmed_arg
FROM scratch
COPY --from=build /out /out
`,
        'myscript.sh': { content: '\n#!/usr/bin/env sh\necho -n $my_arg $* > /out\n', mode: 0o700 },
      });
      const res = await r.local(args);
      expect(res.exitCode, res.stderr).toBe(0);
      expect(await res.read('out')).toBe(expected);
    });
  });

  it('testEmptyStringArgInEnv', async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox AS build
ARG FOO
ARG BAR=
RUN env > env.txt

FROM scratch
COPY --from=build env.txt .`),
    });
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
    const env = await res.read('env.txt');
    expect(env).toContain('BAR=');
    expect(env).not.toContain('FOO=');
  });

  it('testEnvEmptyFormatting', async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox AS build
ENV myenv foo%sbar
RUN [ "$myenv" = 'foo%sbar' ]`),
    });
    const res = await r.local();
    expect(res.exitCode, res.stderr).toBe(0);
  });
});
