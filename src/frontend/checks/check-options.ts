/**
 * `# check=skip=A,B;error=true;experimental=C` (the directive, a comment above one instruction,
 * or the BUILDKIT_DOCKERFILE_CHECK build arg), parsed as BuildKit's ParseLintOptions does.
 */
import { UserError } from '../../errors.js';
import { parseDirectives } from '../directives.js';

export interface CheckOptions {
  skipAll: boolean;
  skip: ReadonlySet<string>;
  experimentalAll: boolean;
  experimental: ReadonlySet<string>;
  /** `error=true`: a build with any warning fails after the Dockerfile is converted. */
  error: boolean;
}

export const DEFAULT_CHECK_OPTIONS: CheckOptions = {
  skipAll: false,
  skip: new Set(),
  experimentalAll: false,
  experimental: new Set(),
  error: false,
};

const names = (v: string): string[] => v.split(',').map((s) => s.trim());

/** Throws a UserError for a malformed value (BuildKit: `failed to parse check options`). */
export function parseCheckOptions(text: string): CheckOptions {
  const trimmed = text.trim();
  if (trimmed === '') return DEFAULT_CHECK_OPTIONS;
  const out = { ...DEFAULT_CHECK_OPTIONS, skip: new Set<string>(), experimental: new Set<string>() };
  // Go's SplitN(…, 3): a third `;` stays inside the last part and makes it fail.
  const parts = trimmed.split(';');
  const limited = parts.length > 3 ? [...parts.slice(0, 2), parts.slice(2).join(';')] : parts;
  for (const part of limited) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new UserError(`failed to parse check options: invalid check option ${JSON.stringify(part)}`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 'skip') {
      if (value === 'all') out.skipAll = true;
      else for (const n of names(value)) out.skip.add(n);
    } else if (key === 'experimental') {
      if (value === 'all') out.experimentalAll = true;
      else for (const n of names(value)) out.experimental.add(n);
    } else if (key === 'error') {
      const b = parseGoBool(value);
      if (b === undefined) {
        throw new UserError(
          `failed to parse check options: failed to parse check option ${JSON.stringify(part)}: invalid syntax`,
        );
      }
      out.error = b;
    } else {
      throw new UserError(`failed to parse check options: invalid check option ${JSON.stringify(key)}`);
    }
  }
  return out;
}

function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** `base` with what `extra` adds (a comment above an instruction widens, never narrows). */
export function mergeCheckOptions(base: CheckOptions, extra: CheckOptions): CheckOptions {
  return {
    skipAll: base.skipAll || extra.skipAll,
    skip: new Set([...base.skip, ...extra.skip]),
    experimentalAll: base.experimentalAll || extra.experimentalAll,
    experimental: new Set([...base.experimental, ...extra.experimental]),
    error: base.error,
  };
}

/**
 * The options a `# check=…` comment right above an instruction adds; the first such comment
 * counts, and one that does not parse leaves the options as they were (BuildKit's
 * WithMergedConfigFromComments). Text after the value's first space is a remark (`// why`).
 */
export function optionsFromComments(base: CheckOptions, comments: readonly string[]): CheckOptions {
  for (const comment of comments) {
    const d = parseDirectives(comment, '')[0];
    if (d?.name !== 'check') continue;
    try {
      return mergeCheckOptions(base, parseCheckOptions(d.value.split(' ')[0]!));
    } catch {
      return base;
    }
  }
  return base;
}
