/** Converters for COPY and ADD: sources (files or heredocs), destination, and their flags. */
import { parseFlags, type FlagSchema, type FlagValues } from './flags.js';
import { parseHeredoc, type HeredocMarker } from './heredoc.js';
import { base, fail, typedHeredoc, type Converter } from './instruction-common.js';
import type { CopyInstruction, Heredoc } from './instruction-types.js';
import type { RawHeredoc, RawInstruction } from './parser.js';

const COPY_FLAGS: FlagSchema = {
  from: 'string',
  chown: 'string',
  chmod: 'string',
  link: 'bool',
  parents: 'bool',
  exclude: 'strings',
};

const ADD_FLAGS: FlagSchema = {
  chown: 'string',
  chmod: 'string',
  link: 'bool',
  exclude: 'strings',
  checksum: 'string',
  'keep-git-dir': 'bool',
  unpack: 'bool',
};

/** A word that does not lex as a heredoc marker is simply a path, as in BuildKit. */
function heredocMarker(word: string): HeredocMarker | undefined {
  try {
    return parseHeredoc(word);
  } catch {
    return undefined;
  }
}

function sourcesAndDest(raw: RawInstruction): { sources: string[]; dest: string; heredocs: Heredoc[] } {
  if (raw.args.length < 2) {
    fail(
      raw,
      `${raw.keyword} requires at least two arguments, but only one was provided. Destination could not be determined`,
      `write ${raw.keyword} <source>... <destination>`,
    );
  }
  const dest = raw.args[raw.args.length - 1]!;
  if (heredocMarker(dest)) fail(raw, `${raw.keyword} cannot accept a heredoc as a destination`);
  const bodies = new Map<string, RawHeredoc>(raw.heredocs.map((h) => [h.name, h]));
  const sources: string[] = [];
  const heredocs: Heredoc[] = [];
  for (const word of raw.args.slice(0, -1)) {
    const marker = heredocMarker(word);
    if (!marker) {
      sources.push(word);
      continue;
    }
    // The marker written in the source list decides chomp and expansion, as in BuildKit.
    const body = bodies.get(marker.name) ?? { ...marker, content: '' };
    sources.push(`<<${marker.name}`);
    heredocs.push(typedHeredoc(body, marker));
  }
  return { sources, dest, heredocs };
}

function copyRecord(raw: RawInstruction, flags: FlagValues): CopyInstruction {
  return {
    kind: raw.keyword === 'ADD' ? 'ADD' : 'COPY',
    ...base(raw),
    ...sourcesAndDest(raw),
    chown: flags.string('chown'),
    chmod: flags.string('chmod'),
    link: flags.bool('link') ?? false,
    parents: flags.bool('parents') ?? false,
    exclude: flags.strings('exclude'),
  };
}

export const convertCopy: Converter = (raw) => {
  const flags = parseFlags(raw, COPY_FLAGS);
  return { ...copyRecord(raw, flags), from: flags.string('from') };
};

export const convertAdd: Converter = (raw) => {
  const flags = parseFlags(raw, ADD_FLAGS);
  return {
    ...copyRecord(raw, flags),
    checksum: flags.string('checksum'),
    keepGitDir: flags.bool('keep-git-dir') ?? false,
    unpack: flags.bool('unpack'),
  };
};
