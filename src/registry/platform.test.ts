import { describe, expect, test } from 'vitest';
import type { Descriptor, Digest } from '../image/types.js';
import {
  defaultPlatform,
  formatPlatform,
  normalizePlatform,
  parsePlatform,
  platformDirName,
  platformsEqual,
  selectManifest,
} from './platform.js';

function entry(platform: string | undefined, n: number): Descriptor {
  const d: Descriptor = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${String(n).padStart(64, '0')}` as Digest,
    size: 1,
  };
  if (platform) {
    const [os, architecture, variant] = platform.split('/');
    d.platform = { os: os!, architecture: architecture!, ...(variant ? { variant } : {}) };
  }
  return d;
}

function pick(entries: (string | undefined)[], wanted: string): string | undefined {
  const manifests = entries.map((p, i) => entry(p, i));
  const [os, architecture, variant] = wanted.split('/');
  const chosen = selectManifest(manifests, { os: os!, architecture: architecture!, ...(variant ? { variant } : {}) });
  if (!chosen) return undefined;
  return `${manifests.indexOf(chosen)}:${chosen.platform ? formatPlatform(chosen.platform) : '-'}`;
}

describe('selectManifest (containerd platforms.Only)', () => {
  test.each([
    [['linux/arm64/v8', 'linux/amd64'], 'linux/amd64', '1:linux/amd64'],
    [['linux/amd64', 'linux/arm64/v8'], 'linux/arm64', '1:linux/arm64/v8'],
    [['linux/amd64', 'linux/arm64'], 'linux/arm64/v8', '1:linux/arm64'],
    [['linux/arm/v6', 'linux/arm/v7'], 'linux/arm/v7', '1:linux/arm/v7'],
    [['linux/arm/v6', 'linux/arm/v5'], 'linux/arm', '0:linux/arm/v6'],
    [['linux/386', 'linux/amd64/v2'], 'linux/amd64', '0:linux/386'],
    [['linux/amd64', 'linux/amd64/v3'], 'linux/amd64/v3', '1:linux/amd64/v3'],
    [['linux/amd64', 'linux/amd64/v2'], 'linux/amd64/v3', '1:linux/amd64/v2'],
    [['linux/arm/v7', 'linux/arm64'], 'linux/arm64', '1:linux/arm64'],
    [['linux/arm/v7'], 'linux/arm64', '0:linux/arm/v7'],
    [['windows/amd64', 'linux/amd64'], 'linux/amd64', '1:linux/amd64'],
    [['unknown/unknown', 'linux/amd64'], 'linux/amd64', '1:linux/amd64'],
    [['linux/amd64', 'linux/amd64'], 'linux/amd64', '0:linux/amd64'],
    [[undefined, 'linux/amd64'], 'linux/amd64', '1:linux/amd64'],
    [[undefined], 'linux/amd64', '0:-'],
    [['linux/arm64'], 'linux/amd64', undefined],
    [['linux/s390x', 'unknown/unknown'], 'linux/amd64', undefined],
    [['linux/x86_64'], 'linux/amd64', '0:linux/x86_64'],
  ])('%j for %s → %s', (entries, wanted, expected) => {
    expect(pick(entries, wanted)).toBe(expected);
  });
});

describe('normalizePlatform', () => {
  test.each([
    ['linux/x86_64', 'linux/amd64'],
    ['linux/aarch64', 'linux/arm64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/i386', 'linux/386'],
    ['Linux/AMD64/v1', 'linux/amd64'],
  ])('%s → %s', (input, expected) => {
    const [os, architecture, variant] = input.split('/');
    expect(formatPlatform(normalizePlatform({ os: os!, architecture: architecture!, variant }))).toBe(expected);
  });

  test("the default platform names node's architecture the OCI way", () => {
    const p = defaultPlatform();
    expect(p.os).toBe('linux');
    expect(p.architecture).toBe(process.arch === 'x64' ? 'amd64' : process.arch);
  });
});

describe('parsePlatform (containerd platforms.Parse, normalised)', () => {
  test.each([
    ['linux/amd64', 'linux/amd64'],
    ['amd64', 'linux/amd64'],
    ['arm64', 'linux/arm64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/aarch64', 'linux/arm64'],
    ['arm/v7', 'linux/arm/v7'],
    ['linux/arm/v7', 'linux/arm/v7'],
    ['linux/arm', 'linux/arm/v7'],
    ['386', 'linux/386'],
    ['ppc64le', 'linux/ppc64le'],
    ['s390x', 'linux/s390x'],
    ['riscv64', 'linux/riscv64'],
    ['Linux/AMD64', 'linux/amd64'],
    ['linux/x86_64', 'linux/amd64'],
    ['linux', formatPlatform(defaultPlatform())],
    ['local', formatPlatform(defaultPlatform())],
    ['linux/sparc', undefined],
    ['plan9/amd64', undefined],
    ['linux/amd64/v2/x', undefined],
    ['', undefined],
  ])('%s → %s', (value, expected) => {
    const p = parsePlatform(value);
    expect(p && formatPlatform(p)).toBe(expected);
  });

  test('platformsEqual ignores the arm64 v8 variant; platformDirName is buildx’s', () => {
    expect(platformsEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' }, parsePlatform('arm64')!)).toBe(true);
    expect(platformsEqual(parsePlatform('amd64')!, parsePlatform('arm64')!)).toBe(false);
    expect(platformDirName(parsePlatform('linux/arm/v7')!)).toBe('linux_arm_v7');
    expect(platformDirName({ os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe('linux_arm64');
  });
});
