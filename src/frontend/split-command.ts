/**
 * Splits one logical Dockerfile line into keyword, leading `--flags` and the rest, as BuildKit's
 * splitCommand does. Offsets into the line are kept so errors can point at the exact flag.
 */
import { isSpace, trimLeftSpace, trimSpace } from '../go-compat.js';

export interface FlagWord {
  /** The flag as one word, quotes and `\` escapes removed: `--from=a b` for `--from="a b"`. */
  text: string;
  /** Offset of the flag's first `-` in the line given to splitCommand. */
  offset: number;
}

export interface SplitLine {
  keyword: string;
  keywordOffset: number;
  flags: FlagWord[];
  /** Everything after the flags, trimmed. */
  args: string;
  argsOffset: number;
}

const KEYWORD_SEPARATOR = /[\t\v\f\r ]+/;

export function splitCommand(line: string): SplitLine {
  const lead = line.length - trimLeftSpace(line).length;
  const trimmed = trimSpace(line);
  const sep = KEYWORD_SEPARATOR.exec(trimmed);
  if (!sep) return { keyword: trimmed, keywordOffset: lead, flags: [], args: '', argsOffset: lead + trimmed.length };
  const restOffset = lead + sep.index + sep[0].length;
  const extracted = extractBuilderFlags(trimmed.slice(sep.index + sep[0].length));
  const remaining = extracted.rest;
  const argsLead = remaining.length - trimLeftSpace(remaining).length;
  return {
    keyword: trimmed.slice(0, sep.index),
    keywordOffset: lead,
    flags: extracted.flags.map((f) => ({ text: f.text, offset: restOffset + f.offset })),
    args: trimSpace(remaining),
    argsOffset: restOffset + extracted.restOffset + argsLead,
  };
}

/**
 * Reads `--name[=value]` words off the front of `line`. Flag words honour quotes and `\`
 * (always backslash, whatever the escape directive says); a bare `--` ends the flags.
 */
function extractBuilderFlags(line: string): { rest: string; restOffset: number; flags: FlagWord[] } {
  const flags: FlagWord[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let wordStart = 0;
  let quote = '';
  let blankOK = false;
  const done = (pos: number) => ({ rest: line.slice(pos), restOffset: pos, flags });

  for (let pos = 0; pos <= line.length; pos++) {
    let ch = pos < line.length ? line[pos]! : '';
    if (phase === 'spaces') {
      if (pos === line.length) break;
      if (isSpace(ch)) continue;
      if (ch !== '-' || line[pos + 1] !== '-') return done(pos); // not a flag: the arguments start here
      phase = 'word';
      wordStart = pos;
    }
    if (pos === line.length) {
      if (word !== '--' && (blankOK || word.length > 0)) flags.push({ text: word, offset: wordStart });
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (word === '--') return done(pos);
        if (blankOK || word.length > 0) flags.push({ text: word, offset: wordStart });
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === line.length) continue; // a trailing backslash is dropped
        ch = line[++pos]!;
      }
      word += ch;
      continue;
    }
    // inside quotes
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      ch = line[++pos]!;
    }
    word += ch;
  }
  return { rest: '', restOffset: line.length, flags };
}
