/**
 * Go's time.ParseDuration, for HEALTHCHECK's `--interval=1m30s` and friends: the Dockerfile
 * takes Go syntax because Docker does, and the image config stores nanoseconds.
 */

const UNIT_NANOS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX_NANOS = 9_223_372_036_854_775_807n; // Go's Duration is an int64

export class DurationError extends Error {}

/** Nanoseconds for a Go duration string (`300ms`, `-1.5h`, `2h45m`); throws DurationError like Go's messages. */
export function parseGoDuration(text: string): number {
  const invalid = () => new DurationError(`time: invalid duration "${text}"`);
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    const m = /^([0-9]*)(?:\.([0-9]*))?/.exec(s)!;
    const [whole = '', frac] = [m[1], m[2]];
    if (whole === '' && (frac === undefined || frac === '')) throw invalid();
    s = s.slice(m[0].length);
    const unit = /^[^0-9.]*/.exec(s)![0];
    if (unit === '') throw new DurationError(`time: missing unit in duration "${text}"`);
    const scale = UNIT_NANOS[unit];
    if (scale === undefined) throw new DurationError(`time: unknown unit "${unit}" in duration "${text}"`);
    s = s.slice(unit.length);
    let nanos = BigInt(whole || '0') * scale;
    if (frac) {
      // Go truncates the fraction to what the unit can represent in whole nanoseconds.
      nanos += (BigInt(frac) * scale) / 10n ** BigInt(frac.length);
    }
    total += nanos;
    if (total > MAX_NANOS) throw invalid();
  }
  return Number(negative ? -total : total);
}
