/**
 * BuildKit's frontend/dockerfile/dockerfile_check_test.go (the build checks), ported to our CLI:
 * each case runs `--call=check,format=json` (BuildKit's "unmarshal" half: every stage) and a
 * normal build (its "progress" half: the stages built, warnings listed at the end as
 * `Rule: detail (line N)`). Bases: `scratch`, or the local busybox layout for busybox/alpine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE, runCli, writeContext } from '../helpers/build-fixture.js';
import { startRegistry } from '../helpers/registry.js';

interface Expected {
  rule: string;
  line: number;
  detail: string;
}
interface LintCase {
  dockerfile: string;
  dockerignore?: string;
  buildArgs?: Record<string, string>;
  warnings?: Expected[];
  /** What --check reports when it differs from the build (unreachable stages). */
  unmarshalWarnings?: Expected[];
  buildErr?: string | RegExp;
  /** An error of the build only (a file .dockerignore leaves out): --check converts, it does not copy. */
  streamBuildErr?: RegExp;
  /** --check only: the bases named are registry images this machine cannot pull. */
  checkOnly?: boolean;
  /** More flags for both runs (BuildKit's FrontendAttrs: --platform, and --insecure-registry to reach the registry). */
  args?: string[];
}

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsbuild-lint-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const DESCRIPTIONS: Record<string, [string, string | undefined]> = {};
const w = (rule: string, line: number, detail: string): Expected => ({ rule, line, detail });
const sortW = (list: Expected[]) =>
  [...list].sort((a, b) => a.line - b.line || (a.detail < b.detail ? -1 : a.detail > b.detail ? 1 : 0));

interface JsonResults {
  warnings: {
    ruleName: string;
    description: string;
    url?: string;
    detail: string;
    location: { ranges: { start: { line: number } }[] };
  }[];
  buildError?: { message: string };
}

async function checkLinterWarnings(c: LintCase): Promise<void> {
  const ctx = join(root, `c${n++}`);
  await writeContext(ctx, {
    Dockerfile: c.dockerfile,
    ...(c.dockerignore !== undefined ? { '.dockerignore': c.dockerignore } : {}),
  });
  const args = [
    ...(c.args ?? []),
    ...Object.entries(c.buildArgs ?? {}).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
  ];
  const env = { TSBUILD_ROOT: join(root, 'state') };

  const check = await runCli(['--call=check,format=json', '--progress=quiet', ...args, ctx], { env });
  const results = JSON.parse(check.stdout) as JsonResults;
  const want = sortW(c.unmarshalWarnings ?? c.warnings ?? []);
  const got = sortW(results.warnings.map((x) => w(x.ruleName, x.location.ranges[0]!.start.line, x.detail)));
  expect(got).toEqual(want);
  for (const x of results.warnings) {
    // every rule carries BuildKit's description and URL
    expect(x.description.length).toBeGreaterThan(0);
    DESCRIPTIONS[x.ruleName] = [x.description, x.url];
  }
  if (!c.checkOnly) {
    if (c.buildErr) expect(results.buildError?.message).toMatch(c.buildErr);
    else expect(results.buildError).toBeUndefined();
  }
  expect(check.exitCode).toBe(got.length || results.buildError ? 1 : 0);
  if (c.checkOnly) return;

  const build = await runCli(['--progress=plain', ...args, ctx], { env });
  const shorts = build.stderr
    .split('\n')
    .map((l) => /^WARNING: (\w+): (.*) \(line (\d+)\)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => w(m[1]!, Number(m[3]), m[2]!));
  expect(sortW(shorts)).toEqual(sortW(c.warnings ?? []));
  const buildErr = c.buildErr ?? c.streamBuildErr;
  if (buildErr) {
    expect(build.exitCode).not.toBe(0);
    expect(build.stderr).toMatch(buildErr);
  } else {
    expect(build.exitCode, build.stderr).toBe(0);
  }
}

describe('dockerfile_check_test.go', { timeout: 120_000 }, () => {
  it('testRuleCheckOption', async () => {
    const src = (d: string) => `${d}\nFROM scratch as base\ncopy Dockerfile .\n`;
    await checkLinterWarnings({ dockerfile: src('#check=skip=all') });
    await checkLinterWarnings({ dockerfile: src('#check=skip=all;error=true') });
    await checkLinterWarnings({ dockerfile: src('#check=skip=ConsistentInstructionCasing,FromAsCasing') });
    await checkLinterWarnings({ dockerfile: src('#check=skip=ConsistentInstructionCasing,FromAsCasing;error=true') });
    const fromAs = w('FromAsCasing', 2, "'as' and 'FROM' keywords' casing do not match");
    await checkLinterWarnings({ dockerfile: src('#check=skip=ConsistentInstructionCasing'), warnings: [fromAs] });
    await checkLinterWarnings({
      dockerfile: src('#check=skip=ConsistentInstructionCasing;error=true'),
      warnings: [fromAs],
      buildErr: 'lint violation found for rules: FromAsCasing',
    });
    await checkLinterWarnings({
      dockerfile: src('#check=skip=all'),
      warnings: [fromAs],
      buildErr: 'lint violation found for rules: FromAsCasing',
      buildArgs: { BUILDKIT_DOCKERFILE_CHECK: 'skip=ConsistentInstructionCasing;error=true' },
    });
    await checkLinterWarnings({
      dockerfile: src('#check=error=true'),
      buildArgs: { BUILDKIT_DOCKERFILE_CHECK: 'skip=all' },
    });
  });

  it('testStageName', async () => {
    await checkLinterWarnings({
      dockerfile: `
# warning: stage name should be lowercase
#
FROM scratch AS BadStageName

# warning: 'as' should match 'FROM' cmd casing.
#
FROM scratch as base2

FROM scratch AS base3
`,
      warnings: [
        w('StageNameCasing', 4, "Stage name 'BadStageName' should be lowercase"),
        w('FromAsCasing', 8, "'as' and 'FROM' keywords' casing do not match"),
      ],
    });
    await checkLinterWarnings({
      dockerfile: `
# warning: 'AS' should match 'from' cmd casing.
#
from scratch AS base

from scratch as base2
`,
      warnings: [w('FromAsCasing', 4, "'AS' and 'from' keywords' casing do not match")],
    });
  });

  it('testNoEmptyContinuation', async () => {
    await checkLinterWarnings({
      dockerfile: `
FROM scratch
# warning: empty continuation line
COPY Dockerfile \\

.
COPY Dockerfile \\
.
`,
      warnings: [w('NoEmptyContinuation', 6, 'Empty continuation line')],
    });
  });

  it('testConsistentInstructionCasing', async () => {
    const cic = (cmd: string, line: number, casing: string) =>
      w(
        'ConsistentInstructionCasing',
        line,
        `Command '${cmd}' should match the case of the command majority (${casing})`,
      );
    await checkLinterWarnings({
      dockerfile: '\n#\n#\nFrom scratch as base\nFROM scratch AS base2\n',
      warnings: [cic('From', 4, 'uppercase')],
    });
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch\n# x\ncopy Dockerfile /foo\nCOPY Dockerfile /bar\n',
      warnings: [cic('copy', 4, 'uppercase')],
    });
    await checkLinterWarnings({
      dockerfile: '\n#\n#\nfrOM scratch as base\nfrom scratch as base2\n',
      warnings: [cic('frOM', 4, 'lowercase')],
    });
    await checkLinterWarnings({
      dockerfile: '\nfrom scratch\n# x\nCOPY Dockerfile /foo\ncopy Dockerfile /bar\n',
      warnings: [cic('COPY', 4, 'lowercase')],
    });
    await checkLinterWarnings({
      dockerfile: '\n#\n#\nfrom scratch\nCOPY Dockerfile /foo\nCOPY Dockerfile /bar\nCOPY Dockerfile /baz\n',
      warnings: [cic('from', 4, 'uppercase')],
    });
    await checkLinterWarnings({
      dockerfile: '\n#\n#\nFROM scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\ncopy Dockerfile /baz\n',
      warnings: [cic('FROM', 4, 'lowercase')],
    });
    await checkLinterWarnings({ dockerfile: '\nfrom scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\n' });
    await checkLinterWarnings({ dockerfile: '\nFROM scratch\nCOPY Dockerfile /foo\nCOPY Dockerfile /bar\n' });
    await checkLinterWarnings({ dockerfile: `\nFROM ${FROM_BASE}\nRUN <<'EOT'\nenv\nEOT\n` });
  });

  it('testDuplicateStageName', async () => {
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch AS b\nFROM scratch AS b\n',
      warnings: [w('DuplicateStageName', 3, 'Duplicate stage name "b", stage names should be unique')],
    });
    await checkLinterWarnings({ dockerfile: '\nFROM scratch AS b1\nFROM scratch AS b2\n' });
  });

  it('testReservedStageName', async () => {
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch AS scratch\nFROM scratch AS context\n',
      warnings: [
        w('ReservedStageName', 2, 'Stage name should not use the same name as reserved stage "scratch"'),
        w('ReservedStageName', 3, 'Stage name should not use the same name as reserved stage "context"'),
      ],
    });
    await checkLinterWarnings({ dockerfile: '\nFROM scratch\nFROM scratch AS a\n' });
  });

  it('testJSONArgsRecommended', async () => {
    const json = (i: string) =>
      w(
        'JSONArgsRecommended',
        3,
        `JSON arguments recommended for ${i} to prevent unintended behavior related to OS signals`,
      );
    await checkLinterWarnings({ dockerfile: '\nFROM scratch\nCMD mycommand\n', warnings: [json('CMD')] });
    await checkLinterWarnings({ dockerfile: '\nFROM scratch\nENTRYPOINT mycommand\n', warnings: [json('ENTRYPOINT')] });
    await checkLinterWarnings({ dockerfile: '\nFROM scratch\nSHELL ["/usr/bin/customshell"]\nCMD mycommand\n' });
    await checkLinterWarnings({ dockerfile: '\nFROM scratch\nSHELL ["/usr/bin/customshell"]\nENTRYPOINT mycommand\n' });
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch AS base\nSHELL ["/usr/bin/customshell"]\n\nFROM base\nCMD mycommand\n',
    });
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch AS base\nSHELL ["/usr/bin/customshell"]\n\nFROM base\nENTRYPOINT mycommand\n',
    });
  });

  it('testMaintainerDeprecated', async () => {
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch\nMAINTAINER me@example.org\n',
      warnings: [w('MaintainerDeprecated', 3, 'Maintainer instruction is deprecated in favor of using label')],
    });
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch\nLABEL org.opencontainers.image.authors="me@example.org"\n',
    });
    await checkLinterWarnings({ dockerfile: '\nFROM scratch\n# check=skip=JSONArgsRecommended\nCMD mycommand\n' });
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch\n# check=skip=JSONArgsRecommended\nENTRYPOINT mycommand\n',
    });
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch\n# check=skip=MaintainerDeprecated\nMAINTAINER me@example.org\n',
    });
  });

  it('testWarningsBeforeError', async () => {
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch AS BadStageName\nMAINTAINER me@example.org\nBADCMD\n',
      warnings: [
        w('StageNameCasing', 2, "Stage name 'BadStageName' should be lowercase"),
        w('MaintainerDeprecated', 3, 'Maintainer instruction is deprecated in favor of using label'),
      ],
      buildErr: /unknown instruction: BADCMD/,
    });
  });

  it('testUndeclaredArg', async () => {
    await checkLinterWarnings({ dockerfile: '\nARG base=scratch\nFROM $base\nCOPY Dockerfile .\n' });
    await checkLinterWarnings({
      dockerfile: '\nARG BUILDPLATFORM=linux/amd64\nFROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile .\n',
    });
    await checkLinterWarnings({ dockerfile: '\nFROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile .\n' });
    await checkLinterWarnings({ dockerfile: '\nARG DEBUG\nFROM scratch${DEBUG}\nCOPY Dockerfile .\n' });
    await checkLinterWarnings({ dockerfile: '\nARG DEBUG\nFROM scra${DEBUG:-tch}\nCOPY Dockerfile .\n' });
    await checkLinterWarnings({ dockerfile: '\nARG DEBUG=""\nFROM scratch${DEBUG-@bogus}\nCOPY Dockerfile .\n' });
    await checkLinterWarnings({
      dockerfile: '\nFROM --platform=$BULIDPLATFORM scratch\nCOPY Dockerfile .\n',
      warnings: [
        w('UndefinedArgInFrom', 2, "FROM argument 'BULIDPLATFORM' is not declared (did you mean BUILDPLATFORM?)"),
      ],
      buildErr: /empty platform value from expression \$BULIDPLATFORM/,
    });
    await checkLinterWarnings({
      dockerfile:
        '\nARG MY_OS=linux\nARG MY_ARCH=amd64\nFROM --platform=linux/${MYARCH} busybox\nCOPY Dockerfile .\n\t',
      warnings: [w('UndefinedArgInFrom', 4, "FROM argument 'MYARCH' is not declared (did you mean MY_ARCH?)")],
      // tsbuild's own words for a value that is no platform (BuildKit fails to parse linux/ too)
      buildErr: /FROM --platform=linux\//,
    });
    await checkLinterWarnings({
      dockerfile: `\nARG tag=latest\nFROM ${FROM_BASE}\${version} AS b\nCOPY Dockerfile .\n`,
      warnings: [w('UndefinedArgInFrom', 3, "FROM argument 'version' is not declared")],
    });
  });

  it('testWorkdirRelativePath', async () => {
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch\nWORKDIR app/\n',
      warnings: [
        w('WorkdirRelativePath', 3, 'Relative workdir "app/" can have unexpected results if the base image changes'),
      ],
    });
    await checkLinterWarnings({ dockerfile: '\nFROM scratch AS a\nWORKDIR /app\n\nFROM a AS b\nWORKDIR subdir/\n' });
    await checkLinterWarnings({ dockerfile: '\nFROM scratch\n# check=skip=WorkdirRelativePath\nWORKDIR app/\n' });
    // checked as expanded, as BuildKit dispatches it (fixtures/demo's `WORKDIR $APP_HOME`)
    await checkLinterWarnings({ dockerfile: '\nFROM scratch\nENV APP_HOME=/app\nWORKDIR $APP_HOME\n' });
  });

  it('testUnmatchedVars', async () => {
    await checkLinterWarnings({ dockerfile: '\nFROM scratch\nARG foo\nCOPY Dockerfile${foo} .\n' });
    // a stage's ARG values carry into a stage built FROM it, as in BuildKit: $foo is defined there
    await checkLinterWarnings({
      dockerfile: `\nFROM ${FROM_BASE} AS base\nARG foo=Dockerfile\n\nFROM base\nCOPY $foo .\n`,
    });
    await checkLinterWarnings({ dockerfile: `\nFROM ${FROM_BASE}\nRUN echo $PATH\n` });
    await checkLinterWarnings({
      dockerfile: `\nFROM ${FROM_BASE}\nCOPY $foo .\nARG foo=bar\nRUN echo $foo\n`,
      warnings: [w('UndefinedVar', 3, "Usage of undefined variable '$foo'")],
    });
    await checkLinterWarnings({
      dockerfile: `\nFROM ${FROM_BASE}\nARG DIR_BINARIES=binaries/\nARG DIR_ASSETS=assets/\nARG DIR_CONFIG=config/\nCOPY $DIR_ASSET .\n\t`,
      warnings: [w('UndefinedVar', 6, "Usage of undefined variable '$DIR_ASSET' (did you mean $DIR_ASSETS?)")],
    });
    await checkLinterWarnings({
      dockerfile: `\nFROM ${FROM_BASE}\nENV PATH=$PAHT:/tmp/bin\n\t\t`,
      warnings: [w('UndefinedVar', 3, "Usage of undefined variable '$PAHT' (did you mean $PATH?)")],
    });
  });

  it('testAllTargetUnmarshal', async () => {
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch AS first\nCOPY $foo .\n\nFROM scratch AS second\nCOPY $bar .\n',
      warnings: [w('UndefinedVar', 6, "Usage of undefined variable '$bar'")],
      unmarshalWarnings: [
        w('UndefinedVar', 3, "Usage of undefined variable '$foo'"),
        w('UndefinedVar', 6, "Usage of undefined variable '$bar'"),
      ],
      // `COPY . .`: $bar is empty, the context is copied
    });
  });

  it('testMultipleInstructionsDisallowed', async () => {
    const mid = (i: string, line: number) =>
      w(
        'MultipleInstructionsDisallowed',
        line,
        `Multiple ${i} instructions should not be used in the same stage because only the last one will be used`,
      );
    await checkLinterWarnings({
      dockerfile:
        '\nFROM scratch\nENTRYPOINT ["/myapp"]\nENTRYPOINT ["/myotherapp"]\nCMD ["/myapp"]\nCMD ["/myotherapp"]\nHEALTHCHECK CMD ["/myapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n',
      warnings: [mid('ENTRYPOINT', 3), mid('CMD', 5), mid('HEALTHCHECK', 7)],
    });
    await checkLinterWarnings({
      dockerfile:
        '\nFROM scratch\nENTRYPOINT ["/myapp"]\nCMD ["/myapp"]\nHEALTHCHECK CMD ["/myapp"]\nCOPY <<EOF /a.txt\nHello, World!\nEOF\nENTRYPOINT ["/myotherapp"]\nCMD ["/myotherapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n',
      warnings: [mid('ENTRYPOINT', 3), mid('CMD', 4), mid('HEALTHCHECK', 5)],
    });
    await checkLinterWarnings({
      dockerfile:
        '\nFROM scratch AS a\nENTRYPOINT ["/myapp"]\nCMD ["/myapp"]\nHEALTHCHECK CMD ["/myapp"]\n\nFROM a AS b\nENTRYPOINT ["/myotherapp"]\nCMD ["/myotherapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n',
    });
  });

  it('testLegacyKeyValueFormat', async () => {
    const lkv = (i: string, line: number) =>
      w('LegacyKeyValueFormat', line, `"${i} key=value" should be used instead of legacy "${i} key value" format`);
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch\nENV testkey value\nLABEL key value\n',
      warnings: [lkv('ENV', 3), lkv('LABEL', 4)],
    });
    await checkLinterWarnings({ dockerfile: '\nFROM scratch\nENV testkey=value\nLABEL key=value\n' });
    // only --check sees a stage that is not built
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch AS a\n\nFROM a AS b\nENV testkey value\nLABEL key value\n\nFROM a AS c\n',
      unmarshalWarnings: [lkv('ENV', 5), lkv('LABEL', 6)],
    });
    await checkLinterWarnings({
      dockerfile:
        '\nFROM scratch\n# check=skip=LegacyKeyValueFormat\nENV testkey value\n# check=skip=LegacyKeyValueFormat\nLABEL key value\n',
    });
  });

  it('testRedundantTargetPlatform', async () => {
    const rtp = (v: string) =>
      w(
        'RedundantTargetPlatform',
        2,
        `Setting platform to predefined ${v} in FROM is redundant as this is the default behavior`,
      );
    await checkLinterWarnings({
      dockerfile: '\nFROM --platform=$TARGETPLATFORM scratch\n',
      warnings: [rtp('$TARGETPLATFORM')],
    });
    await checkLinterWarnings({
      dockerfile: '\nFROM --platform=${TARGETPLATFORM} scratch\n',
      warnings: [rtp('${TARGETPLATFORM}')],
    });
    await checkLinterWarnings({
      dockerfile: '\n# check=skip=RedundantTargetPlatform\nFROM --platform=$TARGETPLATFORM scratch\n',
    });
  });

  it('testSecretsUsedInArgOrEnv', async () => {
    const s = (i: string, key: string, line: number) =>
      w('SecretsUsedInArgOrEnv', line, `Do not use ARG or ENV instructions for sensitive data (${i} "${key}")`);
    await checkLinterWarnings({
      dockerfile: `# check=skip=InvalidDefinitionDescription

FROM scratch
ARG SECRET_PASSPHRASE
ENV SUPER_Secret=foo
ENV password=bar secret=baz
ARG super_duper_secret_token=foo auth=bar
ENV apikey=bar sunflower=foo
ENV git_key=
ENV PUBLIC_KEY=
ARG public_token
ARG SECRET_PASSPHRASE_FILE
ENV password_file=bar secret_File=baz
ARG AUTH_MODULE_VERSION
# check=skip=SecretsUsedInArgOrEnv // allow secret in environment
ENV password=bar
# check=skip=SecretsUsedInArgOrEnv // allow secret in arg
ARG password
# check=skip=all // is local to only this instruction
ENV alternate_password=bar
# check=skip=all // is local to only this instruction
ARG alternate_password
`,
      warnings: [
        s('ARG', 'SECRET_PASSPHRASE', 4),
        s('ENV', 'SUPER_Secret', 5),
        s('ENV', 'password', 6),
        s('ENV', 'secret', 6),
        s('ARG', 'auth', 7),
        s('ARG', 'super_duper_secret_token', 7),
        s('ENV', 'apikey', 8),
        s('ENV', 'git_key', 9),
      ],
    });
  });

  it('testInvalidDefaultArgInFrom (checked without pulling: the bases are registry names)', async () => {
    const ida = (base: string) =>
      w('InvalidDefaultArgInFrom', 3, `Default value for ARG ${base} results in empty or invalid base image name`);
    await checkLinterWarnings({
      dockerfile: '\nARG VERSION\nFROM busybox:$VERSION\n',
      buildArgs: { VERSION: 'latest' },
      warnings: [ida('busybox:$VERSION')],
      checkOnly: true,
    });
    await checkLinterWarnings({
      dockerfile: '\nARG IMAGE\nFROM $IMAGE\n',
      buildArgs: { IMAGE: 'busybox:latest' },
      warnings: [ida('$IMAGE')],
      checkOnly: true,
    });
    await checkLinterWarnings({
      dockerfile: '\nARG SFX="box:"\nFROM busy${SFX}\n',
      buildArgs: { SFX: 'box:latest' },
      warnings: [ida('busy${SFX}')],
      checkOnly: true,
    });
    await checkLinterWarnings({
      dockerfile: '\nARG VERSION="latest"\nFROM busybox:${VERSION}\n',
      buildArgs: { VERSION: 'latest' },
      checkOnly: true,
    });
    await checkLinterWarnings({
      dockerfile: '\nARG BUSYBOX_VARIANT=""\nFROM busybox:stable${BUSYBOX_VARIANT}\n',
      buildArgs: { BUSYBOX_VARIANT: '-musl' },
      checkOnly: true,
    });
    await checkLinterWarnings({
      dockerfile: '\n\tARG BUSYBOX_VARIANT\n\tFROM busybox:stable${BUSYBOX_VARIANT}\n\t',
      buildArgs: { BUSYBOX_VARIANT: '-musl' },
      checkOnly: true,
    });
  });

  it('testFromPlatformFlagConstDisallowed', async () => {
    // the host's platform as the constant: the build needs no emulator
    const host = process.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64';
    await checkLinterWarnings({
      dockerfile: `\nFROM --platform=${host} scratch\n`,
      warnings: [
        w('FromPlatformFlagConstDisallowed', 2, `FROM --platform flag should not use constant value "${host}"`),
      ],
    });
    await checkLinterWarnings({ dockerfile: `\nFROM --platform=${host} scratch AS my_${host.split('/')[1]}_stage\n` });
    await checkLinterWarnings({ dockerfile: `\nFROM --platform=${host} scratch AS linux\n` });
  });

  it('testCopyIgnoredFiles', async () => {
    const cif = (cmd: string, line: number) =>
      w('CopyIgnoredFile', line, `Attempting to ${cmd} file "Dockerfile" that is excluded by .dockerignore`);
    const notFound = /"\/?Dockerfile"|Dockerfile.*not found|no source files/;
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n',
      dockerignore: '\nDockerfile\n',
      warnings: [cif('Copy', 3), cif('Add', 4)],
      streamBuildErr: notFound,
    });
    await checkLinterWarnings({
      dockerfile: '# check=skip=CopyIgnoredFile\n\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n',
      dockerignore: '\nDockerfile\n',
      streamBuildErr: notFound,
    });
    await checkLinterWarnings({
      dockerfile:
        '\nFROM scratch AS base\nCOPY Dockerfile /foobar\nADD Dockerfile /windy\n\nFROM base\nCOPY --from=base /foobar /Dockerfile\n',
      dockerignore: '\nfoobar\n',
    });
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch\nCOPY ./Dockerfile .\n',
      dockerignore: '\n**\n!Dockerfile\n',
    });
    await checkLinterWarnings({ dockerfile: '\nFROM scratch\nCOPY . .\n\t', dockerignore: '\n**\n!Dockerfile\n' });
  });

  it('testCopyIgnoredFileContextRoot', async () => {
    await checkLinterWarnings({ dockerfile: '\nFROM scratch\nCOPY . .\n', dockerignore: '\n.*\n' });
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch\nCOPY . .\n',
      dockerignore: '\n*\n',
      warnings: [w('CopyIgnoredFile', 3, 'Attempting to Copy file "." that is excluded by .dockerignore')],
    });
  });

  it('testDefinitionDescription (experimental rule)', async () => {
    await checkLinterWarnings({
      dockerfile: `# check=skip=all;experimental=InvalidDefinitionDescription
# foo this is the foo
ARG foo=bar

# base this is the base image
FROM scratch AS base

# version this is the version number
ARG version=latest

# baz this is the baz
ARG foo=baz bar=qux baz=quux
#
ARG bit=bat

# comment for something other than ARG or FROM
COPY Dockerfile .
`,
    });
    const idd = (i: string, name: string, line: number) =>
      w('InvalidDefinitionDescription', line, `Comment for ${i} should follow the format: \`# ${name} <description>\``);
    await checkLinterWarnings({
      dockerfile: `# check=experimental=InvalidDefinitionDescription
# bar this is the bar
ARG foo=bar
# BasE this is the BasE image
FROM scratch AS base
# definitely a bad comment
ARG version=latest
# definitely a bad comment
ARG foo=baz bar=qux baz=quux
`,
      warnings: [idd('ARG', 'foo', 3), idd('FROM', 'base', 5), idd('ARG', 'version', 7), idd('ARG', '<arg_key>', 9)],
    });
  });

  it('testExposeProtoCasing', async () => {
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch\nEXPOSE 80/TcP 8080/TCP 8080/udp\n',
      warnings: [
        w('ExposeProtoCasing', 3, "Defined protocol '80/TcP' in EXPOSE instruction should be lowercase"),
        w('ExposeProtoCasing', 3, "Defined protocol '8080/TCP' in EXPOSE instruction should be lowercase"),
      ],
    });
  });

  it('testExposeInvalidFormat', async () => {
    const eif = (p: string) =>
      w(
        'ExposeInvalidFormat',
        3,
        `EXPOSE instruction should not define an IP address or host-port mapping, found '${p}'`,
      );
    await checkLinterWarnings({
      dockerfile: '\nFROM scratch\nEXPOSE 127.0.0.1:80:80 [::1]:8080:8080 5000:5000 8000\n',
      warnings: [eif('127.0.0.1:80:80'), eif('[::1]:8080:8080'), eif('5000:5000')],
      checkOnly: true, // tsbuild's EXPOSE refuses host mappings (BuildKit drops them); --check reports the rule
    });
  });

  it('testBaseImagePlatformMismatch', async () => {
    const reg = await startRegistry();
    try {
      // an image for the platform this machine is not (FROM scratch: nothing of it runs), pushed
      const current = `linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}`;
      const targetPlatform = `linux/${process.arch === 'arm64' ? 'amd64' : 'arm64'}`;
      const target = `${reg.host}/buildkit/testbaseimageplatform:latest`;
      const ctx = join(root, 'platform-mismatch');
      await writeContext(ctx, { Dockerfile: '\nFROM scratch\nCOPY foo /foo\n', foo: 'test' });
      const env = { TSBUILD_ROOT: join(root, 'state') };
      const insecure = ['--insecure-registry', reg.host];
      const push = await runCli(
        ['--progress=plain', ...insecure, '--platform', targetPlatform, '-t', target, '--push', ctx],
        { env },
      );
      expect(push.exitCode, push.stderr).toBe(0);

      await checkLinterWarnings({
        dockerfile: `\nFROM ${target}\nENV foo=bar\n\t`,
        args: [...insecure, '--platform', current],
        warnings: [
          w(
            'InvalidBaseImagePlatform',
            2,
            `Base image ${target} was pulled with platform "${targetPlatform}", expected "${current}" for current build`,
          ),
        ],
      });
      expect(DESCRIPTIONS.InvalidBaseImagePlatform?.[0]).toBe(
        'Base image platform does not match expected target platform',
      );
    } finally {
      await reg.stop();
    }
  });

  it('buildx testBuildCheckCallOutput: the text form and its counts', async () => {
    const ctx = join(root, 'text');
    await writeContext(ctx, { Dockerfile: '\nfrOM busybox as base\ncOpy Dockerfile .\n\t' });
    const env = { TSBUILD_ROOT: join(root, 'state') };
    const clean = join(root, 'clean');
    await writeContext(clean, { Dockerfile: `\nFROM ${FROM_BASE} AS base\nCOPY Dockerfile .\n\t` });
    const ok = await runCli(['--call=check', '--progress=quiet', clean], { env });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toContain('Check complete, no warnings found.');
    const one = join(root, 'one');
    await writeContext(one, { Dockerfile: `\nFROM ${FROM_BASE} as base\nCOPY Dockerfile .\n\t` });
    const r1 = await runCli(['--check', '--progress=quiet', one], { env });
    expect(r1.exitCode).toBe(1);
    expect(r1.stdout).toContain('Check complete, 1 warning has been found!');
    expect(r1.stdout).toContain('WARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/');
    expect(r1.stdout).toContain(
      `Dockerfile:2\n--------------------\n   1 |     \n   2 | >>> FROM ${FROM_BASE} as base\n   3 |     COPY Dockerfile .\n`,
    );
    // the build itself did not run: no step, no image
    expect(r1.stderr).not.toMatch(/COPY Dockerfile/);
  });
});

describe('rule table', () => {
  it('every rule seen above carries its BuildKit URL', () => {
    for (const [name, [, url]] of Object.entries(DESCRIPTIONS)) {
      if (name !== 'InvalidBaseImagePlatform')
        expect(url, name).toMatch(/^https:\/\/docs\.docker\.com\/go\/dockerfile\/rule\//);
    }
  });
});
