/**
 * Raw instructions → the typed records of instruction-types.ts. Each instruction has a small
 * converter: its flag schema, its argument-count rule, its fields. Values stay unexpanded; what is
 * checked here is only what can be checked without variables (BuildKit's instructions package).
 */
import { UserError, nearest } from '../errors.js';
import { goQuote } from '../go-compat.js';
import { NO_FLAGS, parseFlags } from './flags.js';
import type { DockerfileAst, Instruction, KeyValue, Warning } from './instruction-types.js';
import { convertAdd, convertCopy } from './instructions-copy.js';
import { convertCmd, convertHealthcheck, convertRun, convertShell } from './instructions-exec.js';
import { base, fail, requireExactlyOne, requireAtLeastOne, type Converter } from './instruction-common.js';
import type { RawDockerfile, RawInstruction } from './parser.js';

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

const convertFrom: Converter = (raw, warnings) => {
  const flags = parseFlags(raw, { platform: 'string' });
  const args = raw.args;
  const named = args.length === 3 && args[1]!.toLowerCase() === 'as';
  if (args.length !== 1 && !named)
    fail(raw, 'FROM requires either one or three arguments', 'write FROM <image> [AS <name>]');
  let stageName: string | undefined;
  if (named) {
    stageName = args[2]!.toLowerCase();
    if (!STAGE_NAME.test(stageName)) {
      fail(
        raw,
        `invalid name for build stage: ${goQuote(args[2]!)}, name can't start with a number or contain symbols`,
      );
    }
    if (stageName !== args[2])
      warnings.push({ message: `Stage name '${args[2]}' should be lowercase`, location: raw.location });
  }
  return { kind: 'FROM', ...base(raw), image: args[0]!, stageName, platform: flags.string('platform') };
};

/** ENV and LABEL arrive as (key, value, separator) triples; "" as separator marks `KEY value`. */
function keyValues(raw: RawInstruction, warnings: Warning[]): KeyValue[] {
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
  if (legacy) {
    warnings.push({
      message: `"${keyword} key=value" should be used instead of legacy "${keyword} key value" format`,
      location: raw.location,
    });
  }
  return pairs;
}

const convertArg: Converter = (raw) => {
  parseFlags(raw, NO_FLAGS);
  requireAtLeastOne(raw);
  const args = raw.args.map((word) => {
    const eq = word.indexOf('=');
    if (eq < 0) return { key: word };
    if (eq === 0) fail(raw, 'ARG names can not be blank');
    return { key: word.slice(0, eq), value: word.slice(eq + 1) };
  });
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
  convertOne(trigger, []);
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
  ENV: (raw, w) => ({ kind: 'ENV', ...base(raw), pairs: keyValues(raw, w) }),
  LABEL: (raw, w) => ({ kind: 'LABEL', ...base(raw), pairs: keyValues(raw, w) }),
  ARG: convertArg,
  WORKDIR: (raw) => ({ kind: 'WORKDIR', ...base(raw), path: requireExactlyOne(raw) }),
  USER: (raw) => ({ kind: 'USER', ...base(raw), user: requireExactlyOne(raw) }),
  STOPSIGNAL: (raw) => ({ kind: 'STOPSIGNAL', ...base(raw), signal: requireExactlyOne(raw) }),
  MAINTAINER: (raw, w) => {
    const maintainer = requireExactlyOne(raw);
    w.push({ message: 'MAINTAINER instruction is deprecated in favor of using LABEL', location: raw.location });
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

function convertOne(raw: RawInstruction, warnings: Warning[]): Instruction {
  const convert = CONVERTERS[raw.keyword];
  if (!convert) {
    const guess = nearest(raw.keyword, INSTRUCTION_NAMES);
    throw new UserError(`unknown instruction: ${raw.writtenKeyword}`, {
      location: raw.location,
      hint: guess ? `did you mean ${guess}?` : `instructions are ${INSTRUCTION_NAMES.join(', ')}`,
    });
  }
  return convert(raw, warnings);
}

/**
 * Types every instruction of a parsed Dockerfile. Throws a UserError at the first instruction
 * that is unknown, has a bad flag, or has the wrong arguments; collects lint-style warnings.
 */
export function toInstructions(raw: RawDockerfile, file: string): DockerfileAst {
  const warnings: Warning[] = [...raw.warnings];
  const instructions = raw.instructions.map((ins) => convertOne(ins, warnings));
  return { file, directives: raw.directives, instructions, warnings };
}
