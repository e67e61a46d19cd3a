/**
 * One error type for everything a user can cause. Thrown anywhere, printed once by the CLI
 * (without a stack unless --debug). Anything that is not a UserError is a bug.
 */
export interface SourceLocation {
  file: string;
  /** 1-based line of the start of the offending instruction or token. */
  line: number;
  /** 1-based column. */
  column: number;
  /** The source line(s) to show under the message, if known. */
  excerpt?: string;
}

export class UserError extends Error {
  readonly location?: SourceLocation;
  readonly hint?: string;
  /** Extra lines shown after the message, e.g. the output tail of a failed RUN. */
  readonly detail?: string;

  constructor(
    message: string,
    opts: { location?: SourceLocation; hint?: string; detail?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'UserError';
    this.location = opts.location;
    this.hint = opts.hint;
    this.detail = opts.detail;
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}

/**
 * The machine, not the Dockerfile and not tsbuild: a disk that is full or read-only, a missing
 * tool, a permission the process lacks, a bad environment variable. Exit 1 like a user error, and
 * the message says what to do about it.
 */
export class EnvironmentError extends UserError {
  constructor(
    message: string,
    opts: { location?: SourceLocation; hint?: string; detail?: string; cause?: unknown } = {},
  ) {
    super(message, opts);
    this.name = 'EnvironmentError';
  }
}

/**
 * The command line asks for something that cannot be: a context that is neither a directory nor a
 * URL, stdin named for two things. Printed like any user error, with exit code 2 (README: usage).
 */
export class UsageError extends UserError {
  constructor(message: string, opts: ConstructorParameters<typeof UserError>[1] = {}) {
    super(message, opts);
    this.name = 'UsageError';
  }
}

/**
 * A user error that has no Dockerfile location yet, located at `location` (its message after
 * `prefix`, e.g. the step's name): hint and detail kept, the original as its cause, and an
 * environment error stays one. A located error, a bug, or no location: `err` as it was.
 */
export function withLocation(
  err: unknown,
  location: SourceLocation | undefined,
  opts: { prefix?: string } = {},
): unknown {
  if (!(err instanceof UserError) || err.location || !location) return err;
  return rebuilt(err, `${opts.prefix ?? ''}${err.message}`, location);
}

/**
 * A user error with `prefix` before its message (what was being done when it happened): its
 * class, location, hint and detail kept, the original as its cause. Anything else as it was.
 */
export function withPrefix(err: unknown, prefix: string): unknown {
  if (!(err instanceof UserError)) return err;
  return rebuilt(err, `${prefix}${err.message}`, err.location);
}

/**
 * A user error in what was typed on the command line (a bad flag value) as a usage error, exit 2:
 * message, hint and detail kept, the original as its cause. Environment errors and bugs as they were.
 */
export function asUsageError(err: unknown): unknown {
  if (!(err instanceof UserError) || err instanceof EnvironmentError || err instanceof UsageError) return err;
  return new UsageError(err.message, {
    ...(err.hint ? { hint: err.hint } : {}),
    ...(err.detail ? { detail: err.detail } : {}),
    cause: err,
  });
}

function rebuilt(err: UserError, message: string, location: SourceLocation | undefined): UserError {
  const rest = {
    ...(location ? { location } : {}),
    ...(err.hint ? { hint: err.hint } : {}),
    ...(err.detail ? { detail: err.detail } : {}),
    cause: err,
  };
  if (err instanceof EnvironmentError) return new EnvironmentError(message, rest);
  return err instanceof UsageError ? new UsageError(message, rest) : new UserError(message, rest);
}

/** errno codes that mean the machine ran out of something or refuses, never a bug of ours. */
const ENVIRONMENT_ERRNO: Record<string, string> = {
  ENOSPC:
    'free some space on that filesystem (tsbuild prune frees the build cache), or point TSBUILD_ROOT or the output elsewhere',
  EDQUOT: 'the disk quota is exhausted: free some space (tsbuild prune frees the build cache) or raise the quota',
  EROFS: 'the filesystem is read-only: point TSBUILD_ROOT or the output at a writable place',
  EMFILE: 'too many open files: raise the limit (ulimit -n)',
  ENFILE: 'the system ran out of file handles: close other programs or raise fs.file-max',
  ENOMEM: 'the machine is out of memory',
};

/** Permission refused: the machine's doing only where the path is the user's to fix (see `denied` below). */
const PERMISSION_ERRNO: Record<string, string> = { EACCES: 'permission denied', EPERM: 'operation not permitted' };

/**
 * An errno error the environment caused, as an EnvironmentError naming what failed (`what`, e.g.
 * "writing the OCI archive app.tar"); anything else is returned as it was. EACCES and EPERM count
 * only when the caller gives `denied`, the hint for them: where the path is the user's (the state
 * dir, an output, the build context), not one tsbuild made itself, where they would be a bug.
 */
export function asEnvironmentError(err: unknown, what?: string, opts: { denied?: string } = {}): unknown {
  if (err instanceof UserError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && opts.denied && code in PERMISSION_ERRNO) {
    const path = (err as NodeJS.ErrnoException).path;
    return new EnvironmentError(`${what ? `${what}: ` : ''}${PERMISSION_ERRNO[code]}${path ? ` (${path})` : ''}`, {
      hint: opts.denied,
      cause: err,
    });
  }
  if (typeof code !== 'string' || !(code in ENVIRONMENT_ERRNO)) return err;
  const reason =
    code === 'ENOSPC' ? 'no space left on device' : code === 'EDQUOT' ? 'disk quota exceeded' : (err as Error).message;
  const path = (err as NodeJS.ErrnoException).path;
  return new EnvironmentError(`${what ? `${what}: ` : ''}${reason}${path && !what ? ` (${path})` : ''}`, {
    hint: ENVIRONMENT_ERRNO[code]!,
    cause: err,
  });
}

/** Formats a user error as one paragraph: `file:line:col: message`, the excerpt, the hint. */
export function formatUserError(err: UserError): string {
  const where = err.location ? `${err.location.file}:${err.location.line}:${err.location.column}: ` : '';
  const lines = [`error: ${where}${err.message}`];
  if (err.location?.excerpt) {
    const excerpt = err.location.excerpt
      .split('\n')
      .map((l, i) => ` ${String(err.location!.line + i).padStart(4)} | ${l}`);
    lines.push(...excerpt);
  }
  if (err.detail) lines.push(err.detail);
  if (err.hint) lines.push(`hint: ${err.hint}`);
  return lines.join('\n');
}

/**
 * For --debug: the stack of `err`, then of each error in its cause chain ("caused by: …"), the
 * error a wrapper replaced being what a bug report needs.
 */
export function stacksWithCauses(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  for (let e = err; e !== undefined && e !== null && !seen.has(e); e = e instanceof Error ? e.cause : undefined) {
    seen.add(e);
    const text = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
    parts.push(parts.length === 0 ? text : `caused by: ${text}`);
  }
  return parts.join('\n');
}

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment): typos like `chwon`. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate nearest to `word` (case-insensitive), if it is close enough to be a likely typo. */
/** BuildKit's suggest.Search: the closest candidate at an edit distance under 3, none for an exact match. */
export function suggestLikeBuildKit(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  if (candidates.some((c) => c.toLowerCase() === w)) return undefined;
  let best: string | undefined;
  let bestDist = 3;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best;
}

export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best !== undefined && bestDist <= Math.max(1, Math.floor(w.length / 3)) ? best : undefined;
}
