import { describe, expect, it } from 'vitest';
import type { DiffId, Digest } from '../image/types.js';
import { formatPlatform, type PlatformSpec } from '../registry/platform.js';
import { inputsFirst, type ExecOp, type Vertex } from '../solver/graph.js';
import { mergeGraphs } from '../solver/graph-merge.js';
import type { BaseImageResolver } from './build-plan.js';
import { convertDockerfile } from './convert.js';
import { hostPlatform } from './platform.js';

/** A registry with one manifest per platform: its digest and config name the platform it was asked for. */
const asked: string[] = [];
const resolveImage: BaseImageResolver = async (ref, _location, platform) => {
  const p = platform ?? hostPlatform();
  asked.push(`${ref}@${formatPlatform(p)}`);
  const fill = p.architecture === 'arm64' ? 'e' : 'a';
  return {
    vertexOp: {
      type: 'image',
      ref,
      manifestDigest: `sha256:${fill.repeat(64)}`,
      layers: [
        {
          descriptor: {
            mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
            digest: `sha256:${fill.repeat(63)}b` as Digest,
            size: 1,
          },
          diffId: `sha256:${fill.repeat(63)}c` as DiffId,
        },
      ],
      origin: { kind: 'registry', ref },
    },
    architecture: p.architecture,
    os: p.os,
    config: { Env: ['PATH=/bin'] },
    history: [],
  };
};

const ARM64: PlatformSpec = { os: 'linux', architecture: 'arm64' };
const AMD64: PlatformSpec = { os: 'linux', architecture: 'amd64' };
const host = formatPlatform(hostPlatform());

const CROSS = [
  'FROM --platform=$BUILDPLATFORM busybox AS build',
  'RUN make tool',
  'FROM busybox',
  'ARG TARGETPLATFORM BUILDPLATFORM',
  'COPY --from=build /tool /tool',
  'RUN echo $TARGETPLATFORM $BUILDPLATFORM > /p',
  '',
].join('\n');

const convert = (platform: PlatformSpec, showPlatform = false) =>
  convertDockerfile({
    file: 'Dockerfile',
    source: CROSS,
    buildArgs: new Map(),
    resolveImage,
    platform,
    ...(showPlatform ? { showPlatform } : {}),
  });

const runs = (target: Vertex) => inputsFirst(target).filter((v) => v.op.type === 'exec');

describe('converting for a platform (--platform)', () => {
  it('the target stage is for the platform, the $BUILDPLATFORM stage for the host; the args say which is which', async () => {
    asked.length = 0;
    const plan = await convert(ARM64);
    expect(plan.image).toMatchObject({ architecture: 'arm64', os: 'linux' });
    expect(asked.sort()).toEqual([`busybox@${host}`, 'busybox@linux/arm64'].sort());
    const [make, echo] = runs(plan.target).map((v) => v.op as ExecOp);
    // the build stage runs natively (no platform: the host's key), the target stage under emulation
    expect(make!.platform).toBeUndefined();
    expect(echo!.platform).toBe('linux/arm64');
    expect(echo!.env).toEqual(expect.arrayContaining(['TARGETPLATFORM=linux/arm64', `BUILDPLATFORM=${host}`]));
  });

  it('with several platforms, step names carry the stage’s platform', async () => {
    const plan = await convert(ARM64, true);
    expect(runs(plan.target).map((v) => v.name)).toEqual([
      `[${host} build 2/2] RUN make tool`,
      '[linux/arm64 stage-1 3/3] RUN echo $TARGETPLATFORM $BUILDPLATFORM > /p',
    ]);
  });

  it('mergeGraphs: the $BUILDPLATFORM stage is one vertex for both platforms, the rest one each, ids unique', async () => {
    const [amd, arm] = mergeGraphs([(await convert(AMD64, true)).target, (await convert(ARM64, true)).target]);
    const [makeA, echoA] = runs(amd!);
    const [makeB, echoB] = runs(arm!);
    expect(makeA).toBe(makeB);
    expect(echoA).not.toBe(echoB);
    const all = new Set([...inputsFirst(amd!), ...inputsFirst(arm!)]);
    expect(new Set([...all].map((v) => v.id)).size).toBe(all.size);
  });
  it('with --platform, the image is for it even when the last stage ran on $BUILDPLATFORM (BuildKit: not implicit)', async () => {
    const last = (platform?: PlatformSpec) =>
      convertDockerfile({
        file: 'Dockerfile',
        source: 'FROM --platform=$BUILDPLATFORM busybox\nRUN true\n',
        buildArgs: new Map(),
        resolveImage,
        ...(platform ? { platform } : {}),
      });
    const other = hostPlatform().architecture === 'arm64' ? AMD64 : ARM64;
    expect((await last(other)).image).toMatchObject({ os: 'linux', architecture: other.architecture });
    expect((await last({ ...other, architecture: 'arm', variant: 'v7' })).image).toMatchObject({
      architecture: 'arm',
      variant: 'v7',
    });
    // without --platform the stage's own platform stays (FROM --platform=linux/arm64 gives an arm64 image)
    expect((await last()).image).toMatchObject({ architecture: hostPlatform().architecture });
    const pinned = await convertDockerfile({
      file: 'Dockerfile',
      source: 'FROM --platform=linux/arm64 busybox\n',
      buildArgs: new Map(),
      resolveImage,
    });
    expect(pinned.image).toMatchObject({ architecture: 'arm64' });
  });
});

describe('keys per platform', () => {
  it('FROM scratch: a COPY is the same op for every platform, a RUN is not (its platform keys it)', async () => {
    const source = 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "true"]\n';
    const ops = async (platform: PlatformSpec) => {
      const plan = await convertDockerfile({
        file: 'Dockerfile',
        source,
        buildArgs: new Map(),
        resolveImage,
        platform,
      });
      return inputsFirst(plan.target).map((v) => v.op);
    };
    const [amd, arm] = [await ops(AMD64), await ops(ARM64)];
    expect(amd.map((o) => o.type)).toEqual(['scratch', 'copy', 'exec']);
    expect(arm[1]).toEqual(amd[1]);
    const runs = [amd[2] as ExecOp, arm[2] as ExecOp];
    expect(runs.map((o) => o.platform)).toEqual(
      host === 'linux/amd64' ? [undefined, 'linux/arm64'] : ['linux/amd64', undefined],
    );
  });
});
