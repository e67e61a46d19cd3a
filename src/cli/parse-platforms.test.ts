import { describe, expect, test } from 'vitest';
import { formatPlatform } from '../registry/platform.js';
import { parsePlatforms } from './parse-platforms.js';

const names = (values: string[]) => parsePlatforms(values).map(formatPlatform);

describe('parsePlatforms (--platform)', () => {
  test('comma lists and repeats, normalised, each once in the order given', () => {
    expect(names(['linux/amd64,linux/arm64'])).toEqual(['linux/amd64', 'linux/arm64']);
    expect(names(['arm64', 'linux/arm64/v8,amd64', 'arm/v7'])).toEqual(['linux/arm64', 'linux/amd64', 'linux/arm/v7']);
    expect(names(['ppc64le, s390x ,riscv64,386'])).toEqual([
      'linux/ppc64le',
      'linux/s390x',
      'linux/riscv64',
      'linux/386',
    ]);
  });

  test('a value that is no platform, a non-Linux one, or none at all is refused with the form to use', () => {
    expect(() => parsePlatforms(['linux/amd64,linux/sparc'])).toThrow(/invalid --platform "linux\/sparc"/);
    expect(() => parsePlatforms(['windows/amd64'])).toThrow(/Linux images only/);
    expect(() => parsePlatforms([','])).toThrow(/names no platform/);
  });
});
