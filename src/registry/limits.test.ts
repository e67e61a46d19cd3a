import { describe, expect, test } from 'vitest';
import { EnvironmentError } from '../errors.js';
import { registryLimitsFromEnv } from './limits.js';

describe('TSBUILD_REGISTRY_TIMEOUTS', () => {
  test('unset: no overrides', () => {
    expect(registryLimitsFromEnv({})).toEqual({});
  });

  test('seconds (fractions allowed) and bytes per second', () => {
    expect(
      registryLimitsFromEnv({
        TSBUILD_REGISTRY_TIMEOUTS: 'request=0.5, headers=2,idle=3,min-rate=100,rate-window=0.25',
      }),
    ).toEqual({
      deadlineMs: 500,
      headersTimeoutMs: 2000,
      idleTimeoutMs: 3000,
      minBytesPerSecond: 100,
      rateWindowMs: 250,
    });
  });

  test.each(['request', 'request=', 'request=-1', 'request=0', 'requests=5', 'idle=soon'])(
    '%j is an environment error naming the variable',
    (spec) => {
      let err: unknown;
      try {
        registryLimitsFromEnv({ TSBUILD_REGISTRY_TIMEOUTS: spec });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toContain('TSBUILD_REGISTRY_TIMEOUTS');
    },
  );
});
