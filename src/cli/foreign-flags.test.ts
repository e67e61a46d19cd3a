import { describe, expect, it } from 'vitest';
import { foreignFlagHint } from './foreign-flags.js';

describe('foreignFlagHint', () => {
  it('names a docker build flag tsbuild does not take, with what to do', () => {
    expect(foreignFlagHint('--sbom=true')).toBe(
      '--sbom is a docker build flag that tsbuild does not take: tsbuild writes no SBOM attestation',
    );
    expect(foreignFlagHint('--squash')).toMatch(/^--squash is a docker build flag/);
  });

  it('says nothing about flags docker does not have', () => {
    expect(foreignFlagHint('--foo')).toBeUndefined();
    expect(foreignFlagHint('--tagg')).toBeUndefined();
    // tsbuild takes it now
    expect(foreignFlagHint('--platform')).toBeUndefined();
  });

  it('no longer lists the resource flags tsbuild takes', () => {
    for (const flag of ['--memory', '-m', '--memory-swap', '--cpu-shares', '--cpu-period', '--cpu-quota'])
      expect(foreignFlagHint(flag)).toBeUndefined();
    for (const flag of ['--cpuset-cpus', '--cpuset-mems', '--cgroup-parent'])
      expect(foreignFlagHint(flag)).toBeUndefined();
  });
});
