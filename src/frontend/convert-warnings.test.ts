import { describe, expect, it } from 'vitest';
import type { DiffId, Digest } from '../image/types.js';
import type { BaseImageResolver } from './build-plan.js';
import { convertDockerfile } from './convert.js';

const resolveImage: BaseImageResolver = async (ref) => ({
  vertexOp: {
    type: 'image',
    ref,
    manifestDigest: `sha256:${'a'.repeat(64)}`,
    layers: [
      {
        descriptor: {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: `sha256:${'b'.repeat(64)}` as Digest,
          size: 1,
        },
        diffId: `sha256:${'c'.repeat(64)}` as DiffId,
      },
    ],
    origin: { kind: 'registry', ref },
  },
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/bin'] },
  history: [{ created_by: 'base' }],
});

async function warnings(source: string, buildArgs: Record<string, string> = {}) {
  const plan = await convertDockerfile({
    file: 'Dockerfile',
    source,
    buildArgs: new Map(Object.entries(buildArgs)),
    resolveImage,
  });
  return plan.warnings;
}

describe('lint-style warnings (printed once, never fatal)', () => {
  it('the syntax directive is reported as ignored', async () => {
    const w = await warnings('# syntax=docker/dockerfile:1.7\nFROM busybox\n');
    expect(w.map((x) => x.message)).toEqual([
      'the syntax directive (docker/dockerfile:1.7) is ignored: tsbuild uses its built-in Dockerfile frontend',
    ]);
  });

  it('FROM using a variable no global ARG declares', async () => {
    const w = await warnings('FROM busybox:${TAG}\n');
    expect(w).toHaveLength(1);
    expect(w[0]!.message).toMatch(/FROM uses \$TAG, but no ARG before the first FROM declares it/);
    expect(w[0]!.location?.line).toBe(1);
  });

  it('no warning for a declared global ARG or a predefined platform ARG in FROM', async () => {
    expect(await warnings('ARG TAG=1\nFROM busybox:${TAG}-$TARGETARCH\n')).toEqual([]);
  });

  it('a global ARG used in a stage without re-declaring it: once, at the first use', async () => {
    const w = await warnings('ARG V=1\nFROM busybox\nENV A=$V\nLABEL b=$V\n');
    expect(w.map((x) => x.message)).toEqual([
      '$V is declared by an ARG before the first FROM, which only FROM lines see: add "ARG V" to this stage to use its value here',
    ]);
    expect(w[0]!.location?.line).toBe(3);
  });

  it('an ARG used before it is declared in the stage', async () => {
    const w = await warnings('FROM busybox\nWORKDIR /$DIR\nARG DIR=app\n');
    expect(w.map((x) => x.message)).toEqual(['ARG DIR is used before it is declared (line 2): it was empty there']);
    expect(w[0]!.location?.line).toBe(3);
  });

  it('MAINTAINER is deprecated, and an unconsumed --build-arg is reported', async () => {
    const w = await warnings('FROM busybox\nMAINTAINER me\n', { UNUSED: '1' });
    expect(w.map((x) => x.message).join('\n')).toMatch(/deprecated/);
    expect(w.map((x) => x.message).join('\n')).toMatch(
      /build argument "UNUSED" was given but no ARG in the stages built consumes it/,
    );
  });
});

describe('FROM --platform', () => {
  it('accepts the host platform, by name or through $BUILDPLATFORM/$TARGETPLATFORM', async () => {
    const host = (await import('./platform.js')).hostPlatform();
    await expect(
      warnings(
        `FROM --platform=$BUILDPLATFORM busybox AS a\nFROM --platform=\${TARGETPLATFORM} a AS b\nFROM --platform=linux/${host.architecture} b\n`,
      ),
    ).resolves.toEqual([]);
  });
  it('refuses another platform with the location and a hint', async () => {
    const other =
      (await import('./platform.js')).hostPlatform().architecture === 'arm64' ? 'linux/amd64' : 'linux/arm64';
    await expect(warnings(`FROM busybox\nFROM --platform=${other} busybox\n`)).rejects.toMatchObject({
      message: expect.stringContaining(`FROM --platform=${other}: building for another platform is not supported`),
      location: expect.objectContaining({ line: 2 }),
    });
  });
});
