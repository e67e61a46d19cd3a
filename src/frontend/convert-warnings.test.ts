import { describe, expect, it } from 'vitest';
import { fakeBaseResolver } from '../../test/helpers/fake-base-image.js';
import { convertDockerfile } from './convert.js';
import type { Warning } from './instruction-types.js';

const resolveImage = fakeBaseResolver();

async function warnings(source: string, buildArgs: Record<string, string> = {}, more: { allStages?: boolean } = {}) {
  const plan = await convertDockerfile({
    file: 'Dockerfile',
    source,
    buildArgs: new Map(Object.entries(buildArgs)),
    resolveImage,
    ...more,
  });
  return plan.warnings;
}

const checks = (w: Warning[]) =>
  w.filter((x) => x.rule).map((x) => `${x.rule!.name}@${x.location?.line}: ${x.message}`);

describe('build checks (BuildKit rule names and words)', () => {
  it('a syntax directive naming the Dockerfile frontend 1.x builds silently', async () => {
    for (const v of [
      'docker/dockerfile:1.7',
      'docker/dockerfile:1',
      'docker/dockerfile:labs',
      'docker/dockerfile:1.4-labs',
      'docker.io/docker/dockerfile-upstream:master',
    ]) {
      expect(await warnings(`# syntax=${v}\nFROM busybox\n`)).toEqual([]);
    }
  });

  it('a syntax directive naming another frontend fails, unless BUILDKIT_SYNTAX names ours', async () => {
    await expect(warnings('# syntax=example.com/custom-frontend:2\nFROM busybox\n')).rejects.toThrow(
      /names the frontend "example.com\/custom-frontend:2", which tsbuild cannot run/,
    );
    await expect(warnings('# syntax=docker/dockerfile:2\nFROM busybox\n')).rejects.toThrow(/cannot run/);
    expect(
      await warnings('# syntax=example.com/custom:2\nFROM busybox\n', { BUILDKIT_SYNTAX: 'docker/dockerfile:1' }),
    ).toEqual([]);
  });

  it('UndefinedArgInFrom, with a suggestion', async () => {
    expect(checks(await warnings('ARG TAG=1\nFROM busybox:${TGA}\n'))).toEqual([
      'InvalidDefaultArgInFrom@2: Default value for ARG busybox:${TGA} results in empty or invalid base image name',
      "UndefinedArgInFrom@2: FROM argument 'TGA' is not declared (did you mean TAG?)",
    ]);
    expect(await warnings('ARG TAG=1\nFROM busybox:${TAG}-$TARGETARCH\n')).toEqual([]);
  });

  it('UndefinedVar: a global ARG used in a stage without declaring it there, and an ARG used before it', async () => {
    expect(checks(await warnings('ARG V=1\nFROM busybox\nENV A=$V\nLABEL b=$V\n'))).toEqual([
      "UndefinedVar@3: Usage of undefined variable '$V'",
      // A was set by then: one edit away, so BuildKit suggests it
      "UndefinedVar@4: Usage of undefined variable '$V' (did you mean $A?)",
    ]);
    expect(checks(await warnings('FROM busybox\nWORKDIR /$DIR\nARG DIR=app\nWORKDIR /$DIR\n'))).toEqual([
      "UndefinedVar@2: Usage of undefined variable '$DIR'",
    ]);
    expect(checks(await warnings('FROM busybox\nENV PATH=$PAHT:/x\n'))).toEqual([
      "UndefinedVar@2: Usage of undefined variable '$PAHT' (did you mean $PATH?)",
    ]);
  });

  it('a check=skip comment above an instruction skips that rule there only', async () => {
    expect(checks(await warnings('FROM busybox\n# check=skip=UndefinedVar\nENV ALPHA=$X\nENV BETA=$Y\n'))).toEqual([
      "UndefinedVar@4: Usage of undefined variable '$Y'",
    ]);
  });

  it("MAINTAINER is deprecated, and an unconsumed --build-arg is reported (tsbuild's own warning)", async () => {
    const w = await warnings('FROM busybox\nMAINTAINER me\n', { UNUSED: '1' });
    expect(checks(w)).toEqual(['MaintainerDeprecated@2: Maintainer instruction is deprecated in favor of using label']);
    expect(w.filter((x) => !x.rule).map((x) => x.message)).toEqual([
      'build argument "UNUSED" was given but no ARG in the stages built consumes it',
    ]);
  });

  it('checks of instructions run for the stages built only; allStages runs them all', async () => {
    const src = 'FROM busybox AS a\nENV k v\nFROM busybox\nRUN true\n';
    expect(checks(await warnings(src))).toEqual([]);
    expect(checks(await warnings(src, {}, { allStages: true }))).toEqual([
      'LegacyKeyValueFormat@2: "ENV key=value" should be used instead of legacy "ENV key value" format',
    ]);
  });

  it("error=true fails the build with BuildKit's words; BUILDKIT_DOCKERFILE_CHECK replaces the directive", async () => {
    await expect(warnings('# check=error=true\nFROM busybox as b\n')).rejects.toThrow(
      'lint violation found for rules: FromAsCasing',
    );
    await expect(
      warnings('# check=error=true\nFROM busybox as b\n', { BUILDKIT_DOCKERFILE_CHECK: 'skip=all' }),
    ).resolves.toEqual([]);
  });

  it('a duplicate stage name is DuplicateStageName, and the later stage takes the name', async () => {
    const w = await warnings('FROM busybox AS b\nENV X=1\nFROM busybox AS b\nENV X=2\nFROM b\n');
    expect(checks(w)).toEqual(['DuplicateStageName@3: Duplicate stage name "b", stage names should be unique']);
  });
});

describe('FROM --platform', () => {
  it('accepts the host platform, by name or through $BUILDPLATFORM/$TARGETPLATFORM', async () => {
    const host = (await import('./platform.js')).hostPlatform();
    const w = await warnings(
      `FROM --platform=$BUILDPLATFORM busybox AS a\nFROM --platform=\${TARGETPLATFORM} a AS b\nFROM --platform=linux/${host.architecture} b\n`,
    );
    expect(w.map((x) => x.rule?.name)).toEqual(['RedundantTargetPlatform', 'FromPlatformFlagConstDisallowed']);
  });
  it('refuses a value that is no platform, with the location and a hint', async () => {
    await expect(warnings('FROM busybox\nFROM --platform=linux/sparc busybox\n')).rejects.toMatchObject({
      message: 'FROM --platform=linux/sparc: not a platform',
      location: expect.objectContaining({ line: 2 }),
    });
  });
});
