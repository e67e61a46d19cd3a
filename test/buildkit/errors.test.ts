/**
 * BuildKit's error texts as the core of ours (issue 13, "Errors"): the message keeps BuildKit's
 * words so scripts and people can search for them, and tsbuild's file:line, source excerpt and
 * hint stay around it. testErrorsSourceMap is frontend/dockerfile/errors_test.go.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { df, rig, type Rig } from './behaviours-rig.js';

const rigs: Rig[] = [];
afterAll(async () => {
  for (const r of rigs) await r.cleanup();
});
async function fails(dockerfile: string, args: string[] = [], files: Record<string, string> = {}) {
  const r = await rig({ Dockerfile: dockerfile, ...files });
  rigs.push(r);
  const res = await r.cli(args);
  expect(res.exitCode, res.stderr).toBe(1);
  return res.stderr;
}

describe('testErrorsSourceMap: each error names its Dockerfile line', () => {
  for (const [name, dockerfile, line] of [
    ['invalidenv', 'from scratch\nenv foo=${bar:?baz}\nenv bar=baz', 2],
    ['invalidrun', 'from scratch\nenv foo=bar\nrun what', 3],
    ['invalidcopy', 'from scratch\nenv foo=bar\ncopy foo bar\nenv bar=baz', 3],
    ['invalidflag', 'from scratch\nenv foo=bar\ncopy --foo=bar / /\nenv bar=baz', 3],
    ['invalidcopyfrom', 'from scratch\nenv foo=bar\ncopy --from=invalid foo bar\nenv bar=baz', 3],
    ['invalidmultiline', 'from scratch\nrun wh\\\nat\nenv bar=baz', 2],
  ] as const) {
    it(name, async () => {
      expect(await fails(`${dockerfile}\n`)).toMatch(new RegExp(`Dockerfile:${line}:`));
    });
  }
  // README "# syntax=": a frontend tsbuild cannot run fails the build, as in BuildKit, at line 1
  it('invalidsyntax', async () => {
    const err = await fails('#syntax=foobar\nfrom alpine\n');
    expect(err).toMatch(/Dockerfile:1:/);
    expect(err).toContain('the syntax directive names the frontend "foobar", which tsbuild cannot run');
  });
});

describe('BuildKit message cores', () => {
  it('a missing COPY source: failed to compute cache key: failed to calculate checksum of ref …: "/x": not found', async () => {
    const err = await fails('FROM scratch\nCOPY x /\n');
    expect(err).toMatch(/failed to compute cache key: failed to calculate checksum of ref [^\s]+: "\/x": not found/);
    expect(err).toMatch(/Dockerfile:2:1/);
    expect(err).toMatch(/hint: .*dockerignore/);
  });

  it('a missing source in a stage or image: the same core, naming where', async () => {
    const err = await fails(df('FROM busybox AS one\nFROM scratch\nCOPY --from=one /nope /\n'));
    expect(err).toMatch(
      /failed to compute cache key: failed to calculate checksum of ref image \S+: "\/nope": not found/,
    );
  });

  it('unknown instruction', async () => {
    const err = await fails('FROM scratch\nCOPPY x /\n');
    expect(err).toContain('unknown instruction: COPPY');
    expect(err).toMatch(/did you mean COPY\?/);
  });

  it('target stage "x" could not be found', async () => {
    const err = await fails('FROM scratch AS a\n', ['--target', 'nope']);
    expect(err).toContain('target stage "nope" could not be found');
  });

  it('variable expansion is not supported for --from (testCopyVarSubstitution-style)', async () => {
    const err = await fails('FROM scratch AS a\nFROM scratch\nARG X=a\nCOPY --from=$X / /\n');
    expect(err).toContain(
      'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
    );
    expect(err).toMatch(/Dockerfile:4:1/);
  });

  it("'from' doesn't support variable expansion, define alias stage instead (RUN --mount)", async () => {
    const err = await fails('FROM scratch AS a\nFROM scratch\nRUN --mount=from=$X,target=/x true\n');
    expect(err).toContain("'from' doesn't support variable expansion, define alias stage instead");
  });

  it("secret X: not found, unexpected key 'k' for mount type 't', unsupported mount type", async () => {
    expect(await fails(df('FROM busybox\nRUN --mount=type=secret,id=s,required true\n'))).toContain(
      'secret s: not found',
    );
    expect(await fails('FROM scratch\nRUN --mount=type=cache,taget=/x true\n')).toContain(
      "unexpected key 'taget' for mount type 'cache'",
    );
    expect(await fails('FROM scratch\nRUN --mount=type=tmp true\n')).toContain('unsupported mount type "tmp"');
  });

  it('cannot copy from stage "x", it needs to be defined before current stage', async () => {
    const err = await fails('FROM scratch AS a\nCOPY --from=b / /\nFROM scratch AS b\nCOPY --from=a / /\n');
    expect(err).toContain('cannot copy from stage "b", it needs to be defined before current stage "a"');
  });
});
