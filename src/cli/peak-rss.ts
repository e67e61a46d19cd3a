// TSBUILD_PEAK_RSS_FILE=<path>, a diagnostic (README "Speed"; bench/bench.mjs reads it): the process
// that ran a build appends its own peak resident set, in kB, one line per build. GNU time's %M,
// the other figure at hand, is the largest process of the command's tree, a RUN step's included
// (npm ci's node), and with the build server it is the client's.
import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Appends this process's peak RSS (ru_maxrss: this process alone, never its children) when asked;
 * a relative path is taken from `cwd` (default: this process's).
 */
export function recordPeakRss(env: NodeJS.ProcessEnv, cwd?: string): void {
  const file = env.TSBUILD_PEAK_RSS_FILE;
  if (!file) return;
  try {
    appendFileSync(resolve(cwd ?? process.cwd(), file), `${process.resourceUsage().maxRSS}\n`);
  } catch {
    // a diagnostic never fails a build
  }
}
