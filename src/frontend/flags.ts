/**
 * Instruction flags (`--from=…`, `--link`, `--mount=…`), checked against a small per-instruction
 * schema so an unknown, repeated or malformed flag fails the same way on every instruction.
 */
import { UserError, nearest } from '../errors.js';
import type { RawFlag, RawInstruction } from './parser.js';

/** `bool`: `--f`, `--f=true|false`; `string`: `--f=v`, at most once; `strings`: `--f=v`, repeatable. */
export type FlagKind = 'bool' | 'string' | 'strings';
export type FlagSchema = Readonly<Record<string, FlagKind>>;

export const NO_FLAGS: FlagSchema = {};

export class FlagValues {
  private readonly values = new Map<string, string[]>();

  /** Records one occurrence; the schema has been checked already. */
  add(name: string, value: string): void {
    const list = this.values.get(name);
    if (list) list.push(value);
    else this.values.set(name, [value]);
  }

  string(name: string): string | undefined {
    return this.values.get(name)?.[0];
  }

  /** Undefined when the flag was not given, so callers can tell "false" from "unset". */
  bool(name: string): boolean | undefined {
    const v = this.values.get(name)?.[0];
    return v === undefined ? undefined : v === 'true';
  }

  strings(name: string): string[] {
    return this.values.get(name) ?? [];
  }
}

function flagError(message: string, flag: RawFlag, hint?: string): UserError {
  return new UserError(message, { location: flag.location, hint });
}

/** Checks `ins.flags` against `schema`; `owner` names the instruction in hints (e.g. `HEALTHCHECK NONE`). */
export function parseFlags(ins: RawInstruction, schema: FlagSchema, owner = ins.keyword): FlagValues {
  const values = new FlagValues();
  const known = Object.keys(schema);
  for (const flag of ins.flags) {
    const kind = schema[flag.name];
    if (kind === undefined) {
      const guess = nearest(flag.name, known);
      const hint = guess
        ? `did you mean --${guess}?`
        : known.length === 0
          ? `${owner} takes no flags`
          : `${owner} accepts ${known.map((k) => `--${k}`).join(', ')}`;
      throw flagError(`unknown flag: --${flag.name}`, flag, hint);
    }
    if (kind !== 'strings' && values.strings(flag.name).length > 0) {
      throw flagError(`duplicate flag specified: --${flag.name}`, flag, 'give this flag once');
    }
    if (kind === 'bool') {
      values.add(flag.name, boolValue(flag));
    } else {
      if (flag.value === undefined)
        throw flagError(`missing a value on flag: --${flag.name}`, flag, `write --${flag.name}=<value>`);
      values.add(flag.name, flag.value);
    }
  }
  return values;
}

function boolValue(flag: RawFlag): string {
  if (flag.value === undefined) return 'true';
  const lower = flag.value.toLowerCase();
  if (lower === 'true' || lower === 'false') return lower;
  if (flag.value === '')
    throw flagError(`missing a value on flag: --${flag.name}`, flag, `write --${flag.name} or --${flag.name}=false`);
  throw flagError(`expecting boolean value for flag --${flag.name}, not: ${flag.value}`, flag, 'use true or false');
}
