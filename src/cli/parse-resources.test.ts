import { describe, expect, it } from 'vitest';
import { type HostCpus, parseNanoCpus, parseResources, parseUintList, ramInBytes } from './parse-resources.js';

const host = (): HostCpus => ({
  count: 2,
  cpus: new Set([0, 1]),
  mems: new Set([0]),
  cpusText: '0-1',
  memsText: '0',
});
const parse = (flags: Parameters<typeof parseResources>[0]) => parseResources(flags, host);

describe('ramInBytes (docker RAMInBytes)', () => {
  it('reads binary units, any case, with or without i/b', () => {
    expect(ramInBytes('32m', '--memory')).toBe(32 * 1024 * 1024);
    expect(ramInBytes('1.5g', '--memory')).toBe(1.5 * 1024 ** 3);
    expect(ramInBytes('512MiB', '--memory')).toBe(512 * 1024 * 1024);
    expect(ramInBytes('64 KB', '--memory')).toBe(64 * 1024);
    expect(ramInBytes('100', '--memory')).toBe(100);
  });
  it("refuses what docker refuses, in docker's words", () => {
    expect(() => ramInBytes('32x', '-m, --memory')).toThrow(
      `invalid argument "32x" for "-m, --memory" flag: invalid size: '32x'`,
    );
    expect(() => ramInBytes('-1', '--memory')).toThrow(/invalid size/);
  });
});

describe('parseNanoCpus (docker NanoCPUs)', () => {
  it('takes decimals to nine places', () => {
    expect(parseNanoCpus('1.5')).toBe(1_500_000_000);
    expect(parseNanoCpus('.25')).toBe(250_000_000);
    expect(parseNanoCpus('2')).toBe(2_000_000_000);
    expect(parseNanoCpus('0.000000001')).toBe(1);
  });
  it('refuses more precision and non-numbers', () => {
    expect(() => parseNanoCpus('0.0000000001')).toThrow('value is too precise');
    expect(() => parseNanoCpus('abc')).toThrow('failed to parse abc as a rational number');
  });
});

describe('parseUintList', () => {
  it('reads ranges and lists', () => {
    expect([...parseUintList('0-2,5')!]).toEqual([0, 1, 2, 5]);
    expect(parseUintList('2-1')).toBeUndefined();
    expect(parseUintList('a')).toBeUndefined();
  });
});

describe('parseResources', () => {
  it('gives nothing without flags (the ops and their keys stay as they were)', () => {
    expect(parse({})).toBeUndefined();
    expect(parse({ memory: '0' })).toBeUndefined();
  });

  it('takes each limit', () => {
    expect(
      parse({
        memory: '32m',
        memorySwap: '64m',
        cpuShares: '512',
        cpusetCpus: '0',
        cpusetMems: '0',
        cgroupParent: 'ci/job-1',
      }),
    ).toEqual({
      memoryBytes: 32 << 20,
      memorySwapBytes: 64 << 20,
      cpuShares: 512,
      cpusetCpus: '0',
      cpusetMems: '0',
      cgroupParent: 'ci/job-1',
    });
    expect(parse({ cpus: '0.5' })).toEqual({ nanoCpus: 500_000_000 });
    expect(parse({ cpuQuota: '50000', cpuPeriod: '100000' })).toEqual({ cpuQuota: 50000, cpuPeriod: 100000 });
    expect(parse({ memory: '1g', memorySwap: '-1' })).toEqual({ memoryBytes: 1 << 30, memorySwapBytes: -1 });
  });

  it('checks as dockerd checks, in its words', () => {
    expect(() => parse({ memory: '4m' })).toThrow('Minimum memory limit allowed is 6MB');
    expect(() => parse({ memorySwap: '64m' })).toThrow(
      'You should always set the Memory limit when using Memoryswap limit, see usage',
    );
    expect(() => parse({ memory: '64m', memorySwap: '32m' })).toThrow(
      'Minimum memoryswap limit should be larger than memory limit, see usage',
    );
    expect(() => parse({ cpus: '1', cpuPeriod: '100000' })).toThrow(
      'Conflicting options: Nano CPUs and CPU Period cannot both be set',
    );
    expect(() => parse({ cpus: '1', cpuQuota: '50000' })).toThrow(
      'Conflicting options: Nano CPUs and CPU Quota cannot both be set',
    );
    expect(() => parse({ cpus: '3' })).toThrow(
      'Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available',
    );
    expect(() => parse({ cpuPeriod: '500' })).toThrow(/CPU cfs period can not be less than 1ms/);
    expect(() => parse({ cpuQuota: '999' })).toThrow('CPU cfs quota can not be less than 1ms (i.e. 1000)');
    expect(() => parse({ cpuQuota: 'x' })).toThrow(/invalid argument "x" for "--cpu-quota" flag/);
    expect(() => parse({ cpuShares: '-5' })).toThrow('invalid CPU shares (-5): value must be a positive integer');
    expect(() => parse({ cpusetCpus: '0-' })).toThrow('Invalid value 0- for cpuset cpus');
    expect(() => parse({ cpusetCpus: '0,7' })).toThrow(
      'Requested CPUs are not available - requested 0,7, available: 0-1',
    );
    expect(() => parse({ cpusetMems: '1' })).toThrow(
      'Requested memory nodes are not available - requested 1, available: 0',
    );
    expect(() => parse({ cgroupParent: 'a/../../etc' })).toThrow(/may not contain \.\./);
  });

  it('clamps CPU shares to the kernel range, as dockerd does', () => {
    expect(parse({ cpuShares: '1' })).toEqual({ cpuShares: 2 });
    expect(parse({ cpuShares: '999999' })).toEqual({ cpuShares: 262144 });
    expect(parse({ cpuQuota: '-1' })).toEqual({ cpuQuota: -1 });
  });
});
