/**
 * The torture suite's randomness: one seeded generator per test file, so a failure seen once is
 * seen again with the same TORTURE_SEED. TORTURE_SCALE multiplies the bounded CI counts for
 * release checks (`npm run torture`).
 */
export interface Rng {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

/** mulberry32: tiny, fast, and good enough to pick kill moments and mutations. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    seed,
    next,
    int,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[int(items.length)]!;
    },
    chance: (p) => next() < p,
  };
}

/** TORTURE_SEED, else a fixed seed (CI runs the same cases every time). */
export function tortureSeed(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TORTURE_SEED;
  if (raw === undefined || raw === '') return 10;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`TORTURE_SEED must be an integer, not "${raw}"`);
  return n;
}

/** TORTURE_SCALE (a positive number, default 1): how many times the CI counts to run. */
export function tortureScale(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TORTURE_SCALE;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!(n > 0)) throw new Error(`TORTURE_SCALE must be a positive number, not "${raw}"`);
  return n;
}

/** A per-file seed derived from the suite's seed, so files do not share a sequence. */
export function fileSeed(name: string, seed = tortureSeed()): number {
  let h = seed >>> 0;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}
