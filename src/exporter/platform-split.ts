import { UsageError } from '../errors.js';
import type { OutputSpec } from './output-spec.js';

/**
 * `platform-split=true|false` of a local or tar output (BuildKit's): whether each platform gets its
 * own directory; undefined: BuildKit's default (only when there are several).
 */
export function platformSplit(out: OutputSpec, spec?: string): boolean | undefined {
  const v = out.options?.['platform-split'];
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new UsageError(`--output ${spec ?? out.type}: platform-split=${v} is not true or false`);
}
