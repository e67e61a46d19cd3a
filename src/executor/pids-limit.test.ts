import { describe, expect, it } from 'vitest';
import { EnvironmentError } from '../errors.js';
import { DEFAULT_PIDS_LIMIT, pidsLimitFromEnv } from './pids-limit.js';

describe('TSBUILD_PIDS_LIMIT', () => {
  it('defaults, takes a whole number, and max for none', () => {
    expect(pidsLimitFromEnv({})).toBe(DEFAULT_PIDS_LIMIT);
    expect(pidsLimitFromEnv({ TSBUILD_PIDS_LIMIT: '' })).toBe(DEFAULT_PIDS_LIMIT);
    expect(pidsLimitFromEnv({ TSBUILD_PIDS_LIMIT: '64' })).toBe(64);
    expect(pidsLimitFromEnv({ TSBUILD_PIDS_LIMIT: ' 1 ' })).toBe(1);
    expect(pidsLimitFromEnv({ TSBUILD_PIDS_LIMIT: 'max' })).toBe(-1);
  });

  it('refuses anything else as an environment error', () => {
    for (const bad of ['0', '-5', '1.5', 'lots', '1e3', '99999999999999999999']) {
      expect(() => pidsLimitFromEnv({ TSBUILD_PIDS_LIMIT: bad }), bad).toThrow(EnvironmentError);
    }
  });
});
