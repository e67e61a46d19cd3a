/** Helpers shared by the instruction converters: one way to fail, one way to count arguments. */
import { UserError, type SourceLocation } from '../errors.js';
import { NO_FLAGS, parseFlags } from './flags.js';
import type { Linter } from './checks/linter.js';
import type { Heredoc, Instruction } from './instruction-types.js';
import { chompHeredocContent } from './heredoc.js';
import type { RawHeredoc, RawInstruction } from './parser.js';

export type Converter = (raw: RawInstruction, lint: Linter) => Instruction;

export function fail(raw: RawInstruction, message: string, hint?: string): never {
  throw new UserError(message, { location: raw.location, hint });
}

/** Like fail, pointing at the flag whose value is wrong (`--interval=5`). */
export function failFlag(raw: RawInstruction, flag: string, message: string, hint?: string): never {
  const given = raw.flags.filter((f) => f.name === flag).at(-1);
  throw new UserError(message, { location: given?.location ?? raw.location, hint });
}

export function base(raw: RawInstruction): {
  location: SourceLocation;
  original: string;
  endLine: number;
  writtenKeyword: string;
  comments: string[];
} {
  return {
    location: raw.location,
    original: raw.original,
    endLine: raw.endLine,
    writtenKeyword: raw.writtenKeyword,
    comments: raw.comments,
  };
}

export function requireAtLeastOne(raw: RawInstruction): void {
  if (raw.args.length === 0) fail(raw, `${raw.keyword} requires at least one argument`);
}

/** For instructions that take no flags and one argument (WORKDIR, USER, …): that argument. */
export function requireExactlyOne(raw: RawInstruction): string {
  parseFlags(raw, NO_FLAGS);
  if (raw.args.length !== 1) fail(raw, `${raw.keyword} requires exactly one argument`);
  return raw.args[0]!;
}

/** Shell form is one string (the parser keeps it whole); exec form is the JSON array. */
export function commandLine(raw: RawInstruction, args: string[] = raw.args): string[] {
  if (args.length === 0) return [];
  return raw.json ? [...args] : [args.join(' ')];
}

/** The typed heredoc: bodies of `<<-` heredocs lose their leading tabs here, once. */
export function typedHeredoc(h: RawHeredoc, marker: { expand: boolean; chomp: boolean } = h): Heredoc {
  return {
    name: h.name,
    content: marker.chomp ? chompHeredocContent(h.content) : h.content,
    expand: marker.expand,
    chomp: marker.chomp,
  };
}
