/**
 * What each instruction's argument text becomes in the raw AST, per BuildKit's line parsers:
 * JSON exec form or shell form, whitespace-split lists, key/value triples. Nothing is unquoted or
 * expanded here — that happens later, with the stage's variables in scope.
 */
import { goQuote, isSpace, trimLeftSpace } from '../go-compat.js';

export interface ParsedArgs {
  args: string[];
  /** The arguments came from a JSON array (exec form). */
  json: boolean;
}

/** A malformed argument list; the parser adds the location. */
export class LineParseError extends Error {}

export const NOT_STRING_ARRAY = 'when using JSON array syntax, arrays must be comprised of strings only';

const WHITESPACE_RUN = /[\t\v\f\r ]+/;
const shell = (args: string[]): ParsedArgs => ({ args, json: false });

/**
 * Splits on unquoted whitespace, keeping quotes and escapes in the words for later expansion:
 * `foo bar 'abc xyz'` → `foo`, `bar`, `'abc xyz'`. Behind ENV, LABEL and ARG.
 */
export function parseWords(rest: string, escape: string): string[] {
  const chars = [...rest];
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOK = false;
  let word = '';
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = chars[pos] ?? '';
    const atEnd = pos === chars.length;
    if (phase === 'spaces') {
      if (atEnd) break;
      if (isSpace(ch)) continue;
      phase = 'word';
    }
    if (atEnd) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue; // an escape at the very end is dropped
        word += ch;
        ch = chars[++pos]!;
      }
      word += ch;
      continue;
    }
    // inside quotes: the escape character works in double quotes only
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      word += ch;
      ch = chars[++pos]!;
    }
    word += ch;
  }
  return words;
}

/**
 * The JSON exec form, when `rest` is one: undefined when it is not JSON (the caller falls back to
 * shell form), and an error when it is a JSON array holding something other than strings.
 */
export function parseJSON(rest: string): string[] | undefined {
  const text = trimLeftSpace(rest);
  if (!text.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v): v is string => typeof v === 'string')) throw new LineParseError(NOT_STRING_ARRAY);
  return value;
}

/** RUN, CMD, ENTRYPOINT, SHELL: exec form, or the whole text as one shell-form argument. */
export function parseMaybeJSON(rest: string): ParsedArgs {
  if (rest === '') return shell([]);
  const json = parseJSON(rest);
  return json ? { args: json, json: true } : shell([rest]);
}

/** ADD, COPY, VOLUME: exec form, or whitespace-separated words. */
export function parseMaybeJSONToList(rest: string): ParsedArgs {
  const json = parseJSON(rest);
  return json ? { args: json, json: true } : parseStringsWhitespaceDelimited(rest);
}

/** FROM, EXPOSE. */
export function parseStringsWhitespaceDelimited(rest: string): ParsedArgs {
  return shell(rest === '' ? [] : rest.split(WHITESPACE_RUN));
}

/** MAINTAINER, USER, WORKDIR, STOPSIGNAL: the rest of the line is one argument. */
export function parseString(rest: string): ParsedArgs {
  return shell(rest === '' ? [] : [rest]);
}

/** ARG: one word per name or name=value, quotes kept. */
export function parseNameOrNameVal(rest: string, escape: string): ParsedArgs {
  return shell(parseWords(rest, escape));
}

/**
 * ENV and LABEL as (key, value, separator) triples: separator `=` for `k=v k2=v2`, and "" for
 * the legacy `KEY the rest of the line` form, chosen by whether the first word holds an `=`.
 */
export function parseNameVal(rest: string, keyword: string, escape: string): ParsedArgs {
  const words = parseWords(rest, escape);
  if (words.length === 0) return shell([]);
  if (!words[0]!.includes('=')) {
    const sep = WHITESPACE_RUN.exec(rest);
    if (!sep) throw new LineParseError(`${keyword} must have two arguments`);
    return shell([rest.slice(0, sep.index), rest.slice(sep.index + sep[0].length), '']);
  }
  const args: string[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) {
      throw new LineParseError(`Syntax error - can't find = in ${goQuote(word)}. Must be of the form: name=value`);
    }
    args.push(word.slice(0, eq), word.slice(eq + 1), '=');
  }
  return shell(args);
}

/** HEALTHCHECK: the type word (CMD, NONE, …), then the rest as for CMD. */
export function parseHealthConfig(rest: string): ParsedArgs {
  let sep = 0;
  while (sep < rest.length && !isSpace(rest[sep]!)) sep++;
  if (sep === 0) return shell([]);
  let next = sep;
  while (next < rest.length && isSpace(rest[next]!)) next++;
  const cmd = parseMaybeJSON(rest.slice(next));
  return { args: [rest.slice(0, sep), ...cmd.args], json: cmd.json };
}

/** Unknown instructions keep one empty argument, as BuildKit's parser does. */
export function parseIgnore(): ParsedArgs {
  return shell(['']);
}

type LineParser = (rest: string, escape: string) => ParsedArgs;

/** Every instruction but ONBUILD, whose argument is a whole nested instruction. */
export const LINE_PARSERS: Readonly<Record<string, LineParser>> = {
  add: parseMaybeJSONToList,
  arg: parseNameOrNameVal,
  cmd: parseMaybeJSON,
  copy: parseMaybeJSONToList,
  entrypoint: parseMaybeJSON,
  env: (rest, escape) => parseNameVal(rest, 'ENV', escape),
  expose: parseStringsWhitespaceDelimited,
  from: parseStringsWhitespaceDelimited,
  healthcheck: parseHealthConfig,
  label: (rest, escape) => parseNameVal(rest, 'LABEL', escape),
  maintainer: parseString,
  run: parseMaybeJSON,
  shell: parseMaybeJSON,
  stopsignal: parseString,
  user: parseString,
  volume: parseMaybeJSONToList,
  workdir: parseString,
};
