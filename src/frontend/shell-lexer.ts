/**
 * BuildKit's shell-word lexer (frontend/dockerfile/shell): quote removal, escapes and `$VAR`
 * substitution with the POSIX-ish modifiers BuildKit supports. It is not a shell: no command
 * substitution, no globbing, no field splitting beyond whitespace. Dockerfile values are
 * expanded with these rules, so `ENV a="x y"` and `COPY $SRC /d` behave exactly as in BuildKit.
 */
import { UserError } from '../errors.js';
import { goQuote, isSpace } from '../go-compat.js';
import { PatternError, replacePattern, trimPrefix, trimSuffix } from './shell-pattern.js';

export type EnvLookup = (name: string) => string | undefined;

export interface ShellLexOptions {
  /** Keep quote characters in the result (heredoc delimiter detection needs to see them). */
  rawQuotes?: boolean;
  /** Keep escape characters in the result. */
  rawEscapes?: boolean;
  /** Treat quotes as ordinary characters (heredoc bodies: the quotes belong to the script). */
  skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written instead of expanding them to "". */
  skipUnsetEnv?: boolean;
}

export interface WordWithMatches {
  result: string;
  /** Variables referenced and found in the environment (even when empty). */
  matched: Set<string>;
  /** Variables referenced but not set. */
  unmatched: Set<string>;
}

/** A lexing failure; `ShellLex` turns it into a UserError naming the whole word. */
class LexError extends Error {}

const EOF = undefined;
type Char = string | typeof EOF;

class Scanner {
  private readonly chars: string[];
  private pos = 0;
  constructor(text: string) {
    this.chars = [...text]; // code points, like Go's rune scanner
  }
  peek(): Char {
    return this.chars[this.pos];
  }
  next(): Char {
    return this.chars[this.pos++];
  }
  atEnd(): boolean {
    return this.pos >= this.chars.length;
  }
}

/** Collects words for ProcessWords: unquoted whitespace (typed or expanded) separates them. */
class Words {
  private word = '';
  private inWord = false;
  private readonly words: string[] = [];

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length > 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  get(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

const LETTER_OR_DIGIT = /^[\p{L}\p{Nd}]$/u;
const DIGIT = /^\p{Nd}$/u;
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

/** One pass over one word; holds the scanner and the variables seen. */
class ShellWord {
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();
  private readonly sc: Scanner;
  private rawEscapes: boolean;

  constructor(
    private readonly lex: ShellLex,
    private readonly env: EnvLookup,
    word: string,
  ) {
    this.sc = new Scanner(word);
    this.rawEscapes = lex.options.rawEscapes ?? false;
  }

  process(): { result: string; words: string[] } {
    return this.processStopOn(EOF, this.rawEscapes);
  }

  private processStopOn(stop: Char, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const words = new Words();
      const quotes = !this.lex.options.skipProcessQuotes;
      while (!this.sc.atEnd()) {
        const ch = this.sc.peek()!;
        if (stop !== EOF && ch === stop) {
          this.sc.next();
          return { result, words: words.get() };
        }
        if (ch === '$') {
          const v = this.processDollar();
          result += v;
          words.addString(v); // unquoted expansions are split on whitespace
          continue;
        }
        if (ch === '<') {
          const v = this.processPossibleHeredoc();
          result += v;
          words.addRawString(v);
          continue;
        }
        if (quotes && (ch === "'" || ch === '"')) {
          const v = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
          result += v;
          words.addRawString(v);
          continue;
        }
        let c = this.sc.next()!;
        if (c === this.lex.escape) {
          if (this.rawEscapes) {
            words.addRawChar(c);
            result += c;
          }
          const escaped = this.sc.next();
          if (escaped === EOF) break; // a trailing escape is dropped
          c = escaped;
          words.addRawChar(c);
        } else {
          words.addChar(c);
        }
        result += c;
      }
      if (stop !== EOF) throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
      return { result, words: words.get() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    // Nothing is special between single quotes, not even the escape character.
    const raw = this.lex.options.rawQuotes ?? false;
    const open = this.sc.next()!;
    let result = raw ? open : '';
    for (;;) {
      const ch = this.sc.next();
      if (ch === EOF) throw new LexError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return raw ? result + ch : result;
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    // Between double quotes only `$`, the closing quote and the escape character are special,
    // and the escape character only escapes `"`, `$` and itself.
    const raw = this.lex.options.rawQuotes ?? false;
    const open = this.sc.next()!;
    let result = raw ? open : '';
    for (;;) {
      const peek = this.sc.peek();
      if (peek === EOF) throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (peek === '"') {
        this.sc.next();
        return raw ? result + '"' : result;
      }
      if (peek === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.sc.next()!;
      if (ch === this.lex.escape) {
        if (this.rawEscapes) result += ch;
        const next = this.sc.peek();
        if (next === EOF) continue;
        if (next === '"' || next === '$' || next === this.lex.escape) ch = this.sc.next()!;
      }
      result += ch;
    }
  }

  /** `<<` with the blanks after it stays one word, so `RUN <<  EOF` still names a heredoc. */
  private processPossibleHeredoc(): string {
    this.sc.next();
    if (this.sc.peek() !== '<') return '<';
    this.sc.next();
    let result = '<<';
    for (let p = this.sc.peek(); p === ' ' || p === '\t' || p === '\r'; p = this.sc.peek()) {
      result += this.sc.next();
    }
    return result;
  }

  private processDollar(): string {
    this.sc.next(); // the `$`
    const skipUnset = this.lex.options.skipUnsetEnv ?? false;
    if (this.sc.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.getEnv(name);
      if (value === undefined && skipUnset) return '$' + name;
      return value ?? '';
    }
    this.sc.next(); // the `{`
    const first = this.sc.peek();
    if (first === EOF) throw new LexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexError('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.sc.next();
    if (ch === EOF) throw new LexError("syntax error: missing '}'");
    let modifier = ch;

    if (ch === '}') {
      const value = this.getEnv(name);
      if (value === undefined && skipUnset) return `\${${name}}`;
      return value ?? '';
    }
    if (ch === '/') return this.processReplace(name);

    let nullIsUnset = false;
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.sc.next();
      if (ch === EOF) throw new LexError("syntax error: missing '}'");
      modifier += ch;
    }
    // `:` only combines with -, + and ?; `${v:#p}` is not a thing.
    const allowed = nullIsUnset ? ['-', '+', '?'] : ['-', '+', '?', '#', '%'];
    if (ch === EOF || !allowed.includes(ch)) {
      throw new LexError(`unsupported modifier (${modifier}) in substitution`);
    }

    // Patterns keep their escapes: `\*` must reach the pattern compiler as an escaped star.
    const isPattern = ch === '#' || ch === '%';
    let word: string;
    try {
      word = this.processStopOn('}', isPattern).result;
    } catch (err) {
      if (err instanceof LexError && this.sc.atEnd()) throw new LexError("syntax error: missing '}'");
      throw err;
    }

    const value = this.getEnv(name);
    if (value === undefined && skipUnset) return `\${${name}${modifier}${word}}`;
    const unset = value === undefined || (nullIsUnset && value === '');
    switch (ch) {
      case '-':
        return unset ? word : value!;
      case '+':
        return unset ? '' : word;
      case '?':
        if (value === undefined) throw new LexError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') throw new LexError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      default: {
        // `#`/`%` remove the shortest match, `##`/`%%` the longest.
        const greedy = word.startsWith(ch);
        const pattern = greedy ? word.slice(1) : word;
        try {
          return ch === '%' ? trimSuffix(pattern, value ?? '', greedy) : trimPrefix(pattern, value ?? '', greedy);
        } catch (err) {
          throw patternFailure(pattern, err);
        }
      }
    }
  }

  private processReplace(name: string): string {
    const all = this.sc.peek() === '/';
    if (all) this.sc.next();
    let pattern: string;
    let replacement: string;
    try {
      pattern = this.processStopOn('/', true).result;
    } catch (err) {
      if (err instanceof LexError && this.sc.atEnd()) throw new LexError("syntax error: missing '/' in ${}");
      throw err;
    }
    try {
      replacement = this.processStopOn('}', true).result;
    } catch (err) {
      if (err instanceof LexError && this.sc.atEnd()) throw new LexError("syntax error: missing '}'");
      throw err;
    }
    const value = this.getEnv(name);
    if (value === undefined && this.lex.options.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
    try {
      return replacePattern(pattern, value ?? '', replacement, all);
    } catch (err) {
      throw patternFailure(pattern, err);
    }
  }

  /** A variable name, a run of digits (positional parameter) or one special parameter. */
  private processName(): string {
    let name = '';
    for (let ch = this.sc.peek(); ch !== EOF; ch = this.sc.peek()) {
      if (name === '' && DIGIT.test(ch)) {
        while (this.sc.peek() !== EOF && DIGIT.test(this.sc.peek()!)) name += this.sc.next();
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(ch)) return this.sc.next()!;
      if (!LETTER_OR_DIGIT.test(ch) && ch !== '_') break;
      name += this.sc.next();
    }
    return name;
  }

  private getEnv(name: string): string | undefined {
    const value = this.env(name);
    if (value === undefined) this.unmatched.add(name);
    else this.matched.add(name);
    return value;
  }
}

function patternFailure(pattern: string, err: unknown): LexError {
  if (err instanceof PatternError || err instanceof SyntaxError) {
    return new LexError(`invalid pattern (${pattern}) in substitution: ${err.message}`);
  }
  return err as LexError;
}

export class ShellLex {
  readonly escape: string;
  readonly options: Readonly<ShellLexOptions>;

  constructor(escape: string, options: ShellLexOptions = {}) {
    this.escape = escape;
    this.options = { ...options };
  }

  /** One word: quotes and escapes removed, variables expanded, no splitting. */
  processWord(word: string, env: EnvLookup): string {
    return this.run(word, env).result;
  }

  /** Like processWord, and reports which variables the word referenced. */
  processWordWithMatches(word: string, env: EnvLookup): WordWithMatches {
    const { result, matched, unmatched } = this.run(word, env);
    return { result, matched, unmatched };
  }

  /** Expands and splits into words, as for `EXPOSE $PORTS` or heredoc detection. */
  processWords(word: string, env: EnvLookup): string[] {
    return this.run(word, env).words;
  }

  private run(
    word: string,
    env: EnvLookup,
  ): { result: string; words: string[]; matched: Set<string>; unmatched: Set<string> } {
    const sw = new ShellWord(this, env, word);
    try {
      const { result, words } = sw.process();
      return { result, words, matched: sw.matched, unmatched: sw.unmatched };
    } catch (err) {
      if (err instanceof LexError) throw new UserError(`failed to process ${goQuote(word)}: ${err.message}`);
      throw err;
    }
  }
}
