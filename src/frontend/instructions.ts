/**
 * Raw instructions → the typed records of instruction-types.ts. Each instruction has a small
 * converter: its flag schema, its argument-count rule, its fields. Values stay unexpanded; what is
 * checked here is only what can be checked without variables (BuildKit's instructions package).
 */
import { UserError, nearest } from '../errors.js';
import { goQuote } from '../go-compat.js';
import { NO_FLAGS, parseFlags } from './flags.js';
import { Linter } from './checks/linter.js';
import { RULES } from './checks/rules.js';
import { checkDefinitionDescription } from './checks/definition-description.js';
import type { DockerfileAst, Instruction, KeyValue } from './instruction-types.js';
import { convertAdd, convertCopy } from './instructions-copy.js';
import { convertCmd, convertHealthcheck, convertRun, convertShell } from './instructions-exec.js';
import { base, fail, requireExactlyOne, requireAtLeastOne, type Converter } from './instruction-common.js';
import type { RawDockerfile, RawInstruction } from './parser.js';

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

const convertFrom: Converter = (raw, lint) => {
  const flags = parseFlags(raw, { platform: 'string' });
  const args = raw.args;
  const named = args.length === 3 && args[1]!.toLowerCase() === 'as';
  if (args.length !== 1 && !named)
    fail(raw, 'FROM requires either one or three arguments', 'write FROM <image> [AS <name>]');
  let stageName: string | undefined;
  const span = { location: raw.location, endLine: raw.endLine };
  if (named) {
    stageName = args[2]!.toLowerCase();
    if (stageName !== args[2]) lint.run(RULES.StageNameCasing, span, RULES.StageNameCasing.format(args[2]!));
    const from = raw.writtenKeyword;
    const as = args[1]!;
    // a FROM of mixed case is ConsistentInstructionCasing's business
    const fromCase = from === from.toLowerCase() ? 'lower' : from === from.toUpperCase() ? 'upper' : undefined;
    if (fromCase && as !== (fromCase === 'lower' ? as.toLowerCase() : as.toUpperCase()))
      lint.run(RULES.FromAsCasing, span, RULES.FromAsCasing.format(from, as));
    if (!STAGE_NAME.test(stageName)) {
      fail(
        raw,
        `invalid name for build stage: ${goQuote(args[2]!)}, name can't start with a number or contain symbols`,
      );
    }
    checkDefinitionDescription(lint, 'FROM', [stageName], raw);
  }
  return {
    kind: 'FROM',
    ...base(raw),
    image: args[0]!,
    stageName,
    ...(named ? { writtenStageName: args[2]! } : {}),
    platform: flags.string('platform'),
  };
};

/** ENV and LABEL arrive as (key, value, separator) triples; "" as separator marks `KEY value`. */
function keyValues(raw: RawInstruction): { pairs: KeyValue[]; legacyFormat: boolean } {
  parseFlags(raw, NO_FLAGS);
  const { args, keyword } = raw;
  requireAtLeastOne(raw);
  if (args.length % 3 !== 0) fail(raw, `Bad input to ${keyword}, too many arguments`);
  const pairs: KeyValue[] = [];
  let legacy = false;
  for (let i = 0; i < args.length; i += 3) {
    if (args[i] === '') fail(raw, `${keyword} names can not be blank`);
    pairs.push({ key: args[i]!, value: args[i + 1]! });
    if (args[i + 2] === '') legacy = true;
  }
  // reported when the stage is built (LegacyKeyValueFormat), as BuildKit does
  return { pairs, legacyFormat: legacy };
}

const convertArg: Converter = (raw, lint) => {
  parseFlags(raw, NO_FLAGS);
  requireAtLeastOne(raw);
  const args = raw.args.map((word) => {
    const eq = word.indexOf('=');
    if (eq < 0) return { key: word };
    if (eq === 0) fail(raw, 'ARG names can not be blank');
    return { key: word.slice(0, eq), value: word.slice(eq + 1) };
  });
  checkDefinitionDescription(
    lint,
    'ARG',
    args.map((a) => a.key),
    raw,
  );
  return { kind: 'ARG', ...base(raw), args };
};

const convertVolume: Converter = (raw) => {
  parseFlags(raw, NO_FLAGS);
  requireAtLeastOne(raw);
  const volumes = raw.args.map((v) => v.trim());
  if (volumes.includes('')) fail(raw, 'VOLUME specified can not be an empty string');
  return { kind: 'VOLUME', ...base(raw), volumes };
};

const convertOnbuild: Converter = (raw) => {
  parseFlags(raw, NO_FLAGS);
  const trigger = raw.trigger;
  if (!trigger) return fail(raw, 'ONBUILD requires at least one argument');
  if (trigger.keyword === 'ONBUILD') fail(raw, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (trigger.keyword === 'FROM' || trigger.keyword === 'MAINTAINER')
    fail(raw, `${trigger.keyword} isn't allowed as an ONBUILD trigger`);
  // Check the trigger now: a broken trigger would otherwise only fail in every image built FROM this one.
  convertOne(trigger, Linter.silent());
  // The expression is re-parsed when the trigger fires, so heredoc bodies travel with it.
  let expression = raw.original.replace(/^[\t\n\f\r ]*onbuild[\t\n\f\r ]*/i, '');
  for (const h of raw.heredocs) expression += '\n' + h.content + h.name;
  return { kind: 'ONBUILD', ...base(raw), expression };
};

const CONVERTERS: Readonly<Record<string, Converter>> = {
  FROM: convertFrom,
  RUN: convertRun,
  CMD: (raw, w) => convertCmd(raw, w, 'CMD'),
  ENTRYPOINT: (raw, w) => convertCmd(raw, w, 'ENTRYPOINT'),
  SHELL: convertShell,
  HEALTHCHECK: convertHealthcheck,
  COPY: convertCopy,
  ADD: convertAdd,
  ENV: (raw) => ({ kind: 'ENV', ...base(raw), ...keyValues(raw) }),
  LABEL: (raw) => ({ kind: 'LABEL', ...base(raw), ...keyValues(raw) }),
  ARG: convertArg,
  WORKDIR: (raw) => ({ kind: 'WORKDIR', ...base(raw), path: requireExactlyOne(raw) }),
  USER: (raw) => ({ kind: 'USER', ...base(raw), user: requireExactlyOne(raw) }),
  STOPSIGNAL: (raw) => ({ kind: 'STOPSIGNAL', ...base(raw), signal: requireExactlyOne(raw) }),
  MAINTAINER: (raw, lint) => {
    lint.run(
      RULES.MaintainerDeprecated,
      { location: raw.location, endLine: raw.endLine },
      RULES.MaintainerDeprecated.format(),
    );
    const maintainer = requireExactlyOne(raw);
    return { kind: 'MAINTAINER', ...base(raw), maintainer };
  },
  EXPOSE: (raw) => {
    parseFlags(raw, NO_FLAGS);
    requireAtLeastOne(raw);
    return { kind: 'EXPOSE', ...base(raw), ports: [...raw.args] };
  },
  VOLUME: convertVolume,
  ONBUILD: convertOnbuild,
};

export const INSTRUCTION_NAMES: readonly string[] = Object.keys(CONVERTERS);

function convertOne(raw: RawInstruction, lint: Linter): Instruction {
  const convert = CONVERTERS[raw.keyword];
  if (!convert) {
    const guess = nearest(raw.keyword, INSTRUCTION_NAMES);
    throw new UserError(`unknown instruction: ${raw.writtenKeyword}`, {
      location: raw.location,
      hint: guess ? `did you mean ${guess}?` : `instructions are ${INSTRUCTION_NAMES.join(', ')}`,
    });
  }
  return convert(raw, lint.withComments(raw.comments));
}

/**
 * Types every instruction of a parsed Dockerfile. Throws a UserError at the first instruction
 * that is unknown, has a bad flag, or has the wrong arguments; runs the build checks that need
 * only one instruction (those before the error stay reported, as in BuildKit).
 */
export function toInstructions(raw: RawDockerfile, file: string, lint: Linter = Linter.silent()): DockerfileAst {
  for (const { location } of raw.emptyContinuations) {
    lint.run(RULES.NoEmptyContinuation, { location }, RULES.NoEmptyContinuation.format());
  }
  const instructions = raw.instructions.map((ins) => convertOne(ins, lint));
  return { file, directives: raw.directives, instructions };
}
