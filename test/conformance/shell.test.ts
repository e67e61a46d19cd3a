/** BuildKit shell/ corpus: variable expansion and word splitting (ShellLex). */
import { describe, expect, it } from 'vitest';
import { ShellLex } from '../../src/frontend/shell-lexer.js';
import { corpusExists, loadJson, noteMissingCorpus, readText } from './corpus.js';

noteMissingCorpus('shell');

const envOf = (env: Record<string, string>) => (name: string) => (Object.hasOwn(env, name) ? env[name] : undefined);

/** Linux semantics: variable names are case-sensitive. */
const BASE_ENV = { PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' };

interface EnvVarCase {
  line: number;
  platform: 'A' | 'U' | 'W';
  input: string;
  expected: string | null;
  expectError: boolean;
}

/** The raw file, parsed by its own rules (so both forms of the corpus are exercised). */
function parseEnvVarTest(text: string): EnvVarCase[] {
  const cases: EnvVarCase[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.startsWith('#') || line.trim() === '') return;
    const fields = line.split('|').map((f) => f.trim());
    if (fields.length !== 3) throw new Error(`envVarTest:${i + 1}: expected 3 fields`);
    const [platform, input, expected] = fields as [EnvVarCase['platform'], string, string];
    const expectError = expected === 'error';
    cases.push({ line: i + 1, platform, input, expected: expectError ? null : expected, expectError });
  });
  return cases;
}

function checkEnvVarCase(c: EnvVarCase): void {
  if (c.platform === 'W') return; // never reached: filtered with it.skip below
  const lex = new ShellLex('\\');
  if (c.expectError) expect(() => lex.processWord(c.input, envOf(BASE_ENV))).toThrow();
  else expect(lex.processWord(c.input, envOf(BASE_ENV))).toBe(c.expected);
}

function envVarSuite(name: string, cases: EnvVarCase[]): void {
  describe.skipIf(!corpusExists)(name, () => {
    for (const c of cases) {
      const title = `line ${c.line}: ${c.input}`;
      // Windows-only cases: there $pwd finds PWD because names are case-insensitive.
      if (c.platform === 'W') it.skip(`${title} (Windows-only: case-insensitive variable names)`, () => {});
      else it(title, () => checkEnvVarCase(c));
    }
  });
}

envVarSuite('envVarTest', corpusExists ? parseEnvVarTest(readText('shell/envVarTest')) : []);
envVarSuite('envVarTest.json', loadJson<{ cases: EnvVarCase[] }>('shell/envVarTest.json', { cases: [] }).cases);

interface WordsCase {
  line: number;
  input: string;
  env: Record<string, string>;
  expected: string[] | null;
  expectError: boolean;
}

function parseWordsTest(text: string): WordsCase[] {
  const cases: WordsCase[] = [];
  const env: Record<string, string> = {};
  text.split('\n').forEach((line, i) => {
    if (line.startsWith('#') || line.trim() === '') return;
    if (line.startsWith('ENV ')) {
      const rest = line.slice(4).replace(/^ +/, '');
      const eq = rest.indexOf('=');
      env[rest.slice(0, eq)] = rest.slice(eq + 1);
      return;
    }
    const fields = line.split('|');
    if (fields.length !== 2) throw new Error(`wordsTest:${i + 1}: expected 2 fields`);
    const input = fields[0]!.trim();
    const expected = fields[1]!.replace(/^ +/, '');
    const expectError = expected === 'error';
    cases.push({
      line: i + 1,
      input,
      env: { ...env },
      expected: expectError ? null : expected.split(','),
      expectError,
    });
  });
  return cases;
}

function wordsSuite(name: string, cases: WordsCase[]): void {
  describe.skipIf(!corpusExists)(name, () => {
    for (const c of cases) {
      it(`line ${c.line}: ${c.input}`, () => {
        const lex = new ShellLex('\\');
        if (c.expectError) expect(() => lex.processWords(c.input, envOf(c.env))).toThrow();
        else expect(lex.processWords(c.input, envOf(c.env))).toEqual(c.expected);
      });
    }
  });
}

wordsSuite('wordsTest', corpusExists ? parseWordsTest(readText('shell/wordsTest')) : []);
wordsSuite('wordsTest.json', loadJson<{ cases: WordsCase[] }>('shell/wordsTest.json', { cases: [] }).cases);

interface MatchesCase {
  input: string;
  env: Record<string, string>;
  expectError: boolean;
  expected: string | null;
  matched: string[] | null;
  unmatched: string[] | null;
}

describe.skipIf(!corpusExists)('processWordWithMatches.json', () => {
  const { cases } = loadJson<{ cases: MatchesCase[] }>('shell/processWordWithMatches.json', { cases: [] });
  cases.forEach((c, i) => {
    it(`#${i}: ${c.input} ${JSON.stringify(c.env)}`, () => {
      const lex = new ShellLex('\\');
      if (c.expectError) {
        expect(() => lex.processWordWithMatches(c.input, envOf(c.env))).toThrow();
        return;
      }
      const got = lex.processWordWithMatches(c.input, envOf(c.env));
      expect(got.result).toBe(c.expected);
      if (c.matched) expect([...got.matched].sort()).toEqual([...c.matched].sort());
      if (c.unmatched) expect([...got.unmatched].sort()).toEqual([...c.unmatched].sort());
    });
  });
});

interface MandatoryCase {
  input: string;
  env: Record<string, string>;
  expectError: boolean;
  errorContains: string | null;
  expected: string | null;
}

describe.skipIf(!corpusExists)('mandatoryEnvVars.json', () => {
  const { cases } = loadJson<{ cases: MandatoryCase[] }>('shell/mandatoryEnvVars.json', { cases: [] });
  cases.forEach((c, i) => {
    it(`#${i}: ${c.input} ${JSON.stringify(c.env)}`, () => {
      const lex = new ShellLex('\\');
      if (c.expectError) expect(() => lex.processWord(c.input, envOf(c.env))).toThrow(c.errorContains ?? '');
      else expect(lex.processWord(c.input, envOf(c.env))).toBe(c.expected);
    });
  });
});
