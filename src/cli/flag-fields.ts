import { CsvQuoteError, splitCsv } from '../csv.js';
import { UserError } from '../errors.js';

/**
 * The `key=value,key=value` value of a buildx-style flag (`--output`, `--secret`, `--cache-to`…)
 * as a map with lowercased keys, read as CSV the way buildx reads it (a quoted field may hold a
 * comma). Errors name the flag and the value.
 */
export function flagFields(flag: string, spec: string, hint?: string): Map<string, string> {
  let parts: string[];
  try {
    parts = splitCsv(spec);
  } catch (err) {
    if (err instanceof CsvQuoteError)
      throw new UserError(`invalid ${flag} "${spec}": unterminated quote`, hint ? { hint } : {});
    throw err;
  }
  const fields = new Map<string, string>();
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new UserError(`invalid ${flag} "${spec}": "${part}" is not key=value`, hint ? { hint } : {});
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return fields;
}

/** A boolean field's value as buildx takes it (`true`/`false`, `1`/`0`). */
export function flagBool(flag: string, spec: string, key: string, value: string): boolean {
  if (/^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  throw new UserError(`${flag} "${spec}": ${key} must be true or false, not "${value}"`);
}
