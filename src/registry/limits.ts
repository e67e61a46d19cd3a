import { EnvironmentError } from '../errors.js';
import type { HttpClientOptions } from './http.js';

/**
 * `TSBUILD_REGISTRY_TIMEOUTS`: the registry client's time limits, for slow links (more time) and
 * for tests (less). Comma-separated `name=value`, each optional, times in seconds (fractions
 * allowed):
 *
 *   request=60      a manifest, token or other small request: sent to last byte of the answer
 *   headers=60      any request: sent to the answer's first line
 *   idle=60         nothing sent or received for this long
 *   min-rate=1024   a blob download must average at least this many bytes/s ...
 *   rate-window=30  ... over each window of this many seconds
 */
export const TIMEOUTS_ENV = 'TSBUILD_REGISTRY_TIMEOUTS';

const KEYS: Record<string, { field: keyof HttpClientOptions; scale: number }> = {
  request: { field: 'deadlineMs', scale: 1000 },
  headers: { field: 'headersTimeoutMs', scale: 1000 },
  idle: { field: 'idleTimeoutMs', scale: 1000 },
  'min-rate': { field: 'minBytesPerSecond', scale: 1 },
  'rate-window': { field: 'rateWindowMs', scale: 1000 },
};

export function registryLimitsFromEnv(env: NodeJS.ProcessEnv): HttpClientOptions {
  const spec = env[TIMEOUTS_ENV]?.trim();
  const limits: HttpClientOptions = {};
  if (!spec) return limits;
  for (const part of spec.split(',')) {
    const [name = '', value = ''] = part.split('=').map((s) => s.trim());
    const key = KEYS[name];
    const n = Number(value);
    if (!key || value === '' || !Number.isFinite(n) || n <= 0) {
      throw new EnvironmentError(`${TIMEOUTS_ENV}: cannot use ${JSON.stringify(part.trim())}`, {
        hint: `write NAME=NUMBER pairs separated by commas, NAME one of ${Object.keys(KEYS).join(', ')} (times in seconds), e.g. ${TIMEOUTS_ENV}=request=120,min-rate=512`,
      });
    }
    limits[key.field] = n * key.scale;
  }
  return limits;
}
