import { EnvironmentError } from '../errors.js';

/**
 * How many processes and threads one RUN step may have at once (its cgroup's pids.max). Enough
 * for `make -j` and parallel compilers with their threads; a fork bomb stops there and fails its
 * step instead of the machine (podman's default is 2048; BuildKit sets none). TSBUILD_PIDS_LIMIT
 * overrides it: a whole number, or `max` for no limit.
 */
export const DEFAULT_PIDS_LIMIT = 4096;

/** The limit for runc's linux.resources.pids.limit; -1 is no limit. */
export function pidsLimitFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.TSBUILD_PIDS_LIMIT?.trim();
  if (text === undefined || text === '') return DEFAULT_PIDS_LIMIT;
  if (text === 'max') return -1;
  if (/^[0-9]+$/.test(text) && Number(text) >= 1 && Number.isSafeInteger(Number(text))) return Number(text);
  throw new EnvironmentError(`TSBUILD_PIDS_LIMIT="${env.TSBUILD_PIDS_LIMIT}" is not a number of processes`, {
    hint: `set it to a whole number of at least 1 (the default is ${DEFAULT_PIDS_LIMIT}) or to max for no limit, or unset it`,
  });
}
