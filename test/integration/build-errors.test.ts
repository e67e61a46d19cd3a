import { afterEach, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, type Fixture } from '../helpers/build-fixture.js';

/** Bad input: one clear paragraph naming file and line, a non-zero exit, no stack trace. */
describe('build errors', () => {
  let fx: Fixture | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });

  const failWith = async (dockerfile: string, files: Record<string, string> = {}, args: string[] = []) => {
    fx = await makeFixture({ Dockerfile: dockerfile, ...files });
    const res = await fx.build(args);
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
    return res.stderr;
  };

  it('unknown instruction: suggests the nearest', async () => {
    const err = await failWith(`FROM ${FROM_BASE}\nRUN true\nCOPPY a /a\n`, { a: 'x' });
    expect(err).toMatch(/Dockerfile:3:1: .*unknown instruction: COPPY/i);
    expect(err).toMatch(/did you mean COPY\?/i);
  });

  it('unknown flag', async () => {
    const err = await failWith(`FROM ${FROM_BASE}\nCOPY --chwon=app a /a\n`, { a: 'x' });
    expect(err).toMatch(/Dockerfile:2:\d+: .*unknown flag.*chwon/i);
    expect(err).toMatch(/did you mean --chown\?/);
  });

  it('COPY of a path outside the context', async () => {
    const err = await failWith(`FROM ${FROM_BASE}\nCOPY ../secret /s\n`);
    expect(err).toMatch(/Dockerfile:2:1: /);
    expect(err).toMatch(/outside the build context|not found \(not in the build context/);
  });

  it('COPY of a missing file', async () => {
    const err = await failWith(`FROM ${FROM_BASE}\nCOPY nope.txt /n\n`);
    expect(err).toMatch(
      /Dockerfile:2:1: .*failed to compute cache key: failed to calculate checksum of ref context: "\/nope.txt": not found/,
    );
  });

  it('--from naming no stage', async () => {
    const err = await failWith(
      `FROM ${FROM_BASE} AS builder\nRUN true\nFROM ${FROM_BASE}\nCOPY --from=buidler /x /x\n`,
    );
    expect(err).toMatch(/Dockerfile:4:1: .*--from=buidler/);
    expect(err).toMatch(/did you mean --from=builder\?/);
  });

  it('a failing RUN: the step, its exit code and its output tail', async () => {
    const err = await failWith(`FROM ${FROM_BASE}\nRUN echo one && echo two >&2 && exit 3\n`);
    expect(err).toMatch(/Dockerfile:2:1: .*RUN echo one.*did not complete successfully: exit code: 3/);
    expect(err).toMatch(/> one/);
    expect(err).toMatch(/> two/);
  });

  it('a bad --target lists the stages', async () => {
    const err = await failWith(`FROM ${FROM_BASE} AS one\nFROM ${FROM_BASE} AS two\n`, {}, ['--target', 'three']);
    expect(err).toMatch(/target stage "three" could not be found/);
    expect(err).toMatch(/stages in .*Dockerfile: one, two/);
  });

  it('a name longer than Linux takes, in WORKDIR, a COPY destination or a mount target: exit 1 at its line', async () => {
    const long = 'a'.repeat(256);
    for (const [line, df] of [
      [2, `FROM ${FROM_BASE}\nWORKDIR /${long}\n`],
      [2, `FROM ${FROM_BASE}\nCOPY a /${long}/\n`],
      [2, `FROM ${FROM_BASE}\nRUN --mount=type=tmpfs,target=/${long} true\n`],
      [2, `FROM ${FROM_BASE}\nWORKDIR ${'/a'.repeat(2100)}\n`],
    ] as const) {
      const err = await failWith(df, { a: 'x' });
      expect(err).toMatch(new RegExp(`Dockerfile:${line}:1: .*file name too long`));
      expect(err).not.toMatch(/internal error/);
      await fx?.cleanup();
      fx = undefined;
    }
  });

  it("a word's expansion error names its line; --debug shows the error that was located", async () => {
    const err = await failWith(`FROM ${FROM_BASE}\nWORKDIR \${DIR:?must be set}\n`);
    expect(err).toMatch(/Dockerfile:2:1: failed to process "\$\{DIR:\?must be set\}": DIR: must be set/);
    const debug = await fx!.build(['--debug']);
    expect(debug.stderr).toMatch(/\nUserError: failed to process .*\n\s+at /);
    expect(debug.stderr).toMatch(/\ncaused by: UserError: failed to process [^\n]*\n\s+at [\s\S]*processWord/);
  });

  it('an unknown USER', async () => {
    const err = await failWith(`FROM ${FROM_BASE}\nUSER ghost\nRUN true\n`);
    expect(err).toMatch(/unable to find user ghost/);
  });

  it('a failed build leaves a state dir the next build uses', async () => {
    fx = await makeFixture({ Dockerfile: `FROM ${FROM_BASE}\nRUN echo ok > /ok\nRUN exit 1\n` });
    expect((await fx.build()).exitCode).not.toBe(0);
    await (await import('node:fs/promises')).writeFile(
      `${fx.context}/Dockerfile`,
      `FROM ${FROM_BASE}\nRUN echo ok > /ok\nRUN true\n`,
    );
    const res = await fx.build();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/RUN echo ok > \/ok\n#\d+ CACHED/);
  });
});
