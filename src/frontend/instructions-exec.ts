/** Converters for the instructions that carry a command: RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK. */
import { nearest } from '../errors.js';
import { DurationError, parseGoDuration } from './duration.js';
import { NO_FLAGS, parseFlags, type FlagValues } from './flags.js';
import { goQuote } from '../go-compat.js';
import { base, commandLine, fail, failFlag, typedHeredoc, type Converter } from './instruction-common.js';
import type { CmdInstruction, HealthcheckInstruction, RunInstruction } from './instruction-types.js';
import type { RawInstruction } from './parser.js';

const NETWORK_MODES = ['default', 'none', 'host'];
const SECURITY_MODES = ['sandbox', 'insecure'];

function checkMode(
  raw: RawInstruction,
  kind: 'network' | 'security',
  value: string | undefined,
  allowed: string[],
): void {
  if (value === undefined || allowed.includes(value)) return;
  const guess = nearest(value, allowed);
  failFlag(
    raw,
    kind,
    `unsupported ${kind} mode ${goQuote(value)}`,
    guess ? `did you mean ${guess}?` : `use one of ${allowed.join(', ')}`,
  );
}

export const convertRun: Converter = (raw) => {
  const flags = parseFlags(raw, { mount: 'strings', network: 'string', security: 'string', device: 'strings' });
  const command = commandLine(raw);
  if (command.length === 0) fail(raw, 'RUN requires at least one argument');
  const network = flags.string('network');
  const security = flags.string('security');
  checkMode(raw, 'network', network, NETWORK_MODES);
  checkMode(raw, 'security', security, SECURITY_MODES);
  const run: RunInstruction = {
    kind: 'RUN',
    ...base(raw),
    command,
    prependShell: !raw.json,
    heredocs: raw.heredocs.map((h) => typedHeredoc(h)),
    mounts: flags.strings('mount'),
    network,
    security,
    ...(flags.strings('device').length ? { devices: flags.strings('device') } : {}),
  };
  return run;
};

export function convertCmd(raw: RawInstruction, _warnings: unknown, kind: 'CMD' | 'ENTRYPOINT'): CmdInstruction {
  parseFlags(raw, NO_FLAGS);
  return { kind, ...base(raw), command: commandLine(raw), prependShell: !raw.json };
}

export const convertShell: Converter = (raw) => {
  parseFlags(raw, NO_FLAGS);
  const shell = commandLine(raw);
  if (shell.length === 0) fail(raw, 'SHELL requires at least one argument');
  if (!raw.json) fail(raw, 'SHELL requires the arguments to be in JSON form', 'write SHELL ["/bin/bash", "-c"]');
  return { kind: 'SHELL', ...base(raw), shell };
};

const HEALTHCHECK_FLAGS = {
  interval: 'string',
  timeout: 'string',
  'start-period': 'string',
  'start-interval': 'string',
  retries: 'string',
} as const;

/** A duration flag in nanoseconds: 0 is allowed (meaning "default"), anything else must be ≥ 1ms. */
function durationFlag(raw: RawInstruction, flags: FlagValues, name: string): number | undefined {
  const text = flags.string(name);
  if (text === undefined || text === '') return undefined;
  let nanos: number;
  try {
    nanos = parseGoDuration(text);
  } catch (err) {
    if (err instanceof DurationError)
      return failFlag(raw, name, err.message, `--${name} takes a duration such as 30s, 1m30s or 500ms`);
    throw err;
  }
  if (nanos !== 0 && nanos < 1_000_000)
    failFlag(raw, name, `Interval ${goQuote(name)} cannot be less than 1ms`, 'use 0 for the default, or at least 1ms');
  return nanos;
}

function retriesFlag(raw: RawInstruction, flags: FlagValues): number | undefined {
  const text = flags.string('retries');
  if (text === undefined || text === '') return undefined;
  if (!/^[+-]?[0-9]+$/.test(text) || Math.abs(Number(text)) > 2 ** 31 - 1) {
    failFlag(raw, 'retries', `invalid --retries value ${goQuote(text)}`, '--retries takes a whole number');
  }
  const retries = Number(text);
  if (retries < 0) failFlag(raw, 'retries', `--retries cannot be negative (${retries})`);
  return retries;
}

export const convertHealthcheck: Converter = (raw) => {
  if (raw.args.length === 0) fail(raw, 'HEALTHCHECK requires at least one argument');
  const type = raw.args[0]!.toUpperCase();
  const rest = raw.args.slice(1);
  if (type === 'NONE') {
    parseFlags(raw, NO_FLAGS, 'HEALTHCHECK NONE');
    if (rest.length !== 0) fail(raw, 'HEALTHCHECK NONE takes no arguments');
    return { kind: 'HEALTHCHECK', ...base(raw), test: ['NONE'] };
  }
  const flags = parseFlags(raw, HEALTHCHECK_FLAGS);
  if (type !== 'CMD')
    fail(
      raw,
      `Unknown type ${goQuote(type)} in HEALTHCHECK (try CMD)`,
      'write HEALTHCHECK CMD <command> or HEALTHCHECK NONE',
    );
  const command = commandLine(raw, rest);
  if (command.length === 0) fail(raw, 'Missing command after HEALTHCHECK CMD');
  const hc: HealthcheckInstruction = {
    kind: 'HEALTHCHECK',
    ...base(raw),
    test: [raw.json ? 'CMD' : 'CMD-SHELL', ...command],
    interval: durationFlag(raw, flags, 'interval'),
    timeout: durationFlag(raw, flags, 'timeout'),
    startPeriod: durationFlag(raw, flags, 'start-period'),
    startInterval: durationFlag(raw, flags, 'start-interval'),
    retries: retriesFlag(raw, flags),
  };
  return hc;
};
