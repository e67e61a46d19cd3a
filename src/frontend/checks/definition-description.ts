import type { RawInstruction } from '../parser.js';
import type { Linter } from './linter.js';
import { RULES } from './rules.js';

/**
 * InvalidDefinitionDescription (experimental): the comment right above a named stage or an ARG
 * is its description for `--call=outline`/`targets` only when it starts with the name.
 */
export function checkDefinitionDescription(
  lint: Linter,
  instruction: 'FROM' | 'ARG',
  names: string[],
  raw: RawInstruction,
): void {
  const last = raw.comments.at(-1);
  if (last === undefined || names.length === 0) return;
  if (names.includes(last.split(' ')[0]!)) return;
  const example = names.length > 1 ? '<arg_key>' : names[0]!;
  lint.run(
    RULES.InvalidDefinitionDescription,
    { location: raw.location, endLine: raw.endLine },
    RULES.InvalidDefinitionDescription.format(instruction, example),
  );
}
