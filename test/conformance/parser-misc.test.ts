/** BuildKit parser-misc/parser-misc.json: word splitting, JSON exec form, ENV/LABEL triples, line numbers, warnings, line length. */
import { RULES } from '../../src/frontend/checks/rules.js';
import { describe, expect, it } from 'vitest';
import { NOT_STRING_ARRAY, parseJSON, parseNameVal, parseWords } from '../../src/frontend/line-parsers.js';
import { parseDockerfile } from '../../src/frontend/parser.js';
import { corpusExists, loadJson, noteMissingCorpus, thrownMessage } from './corpus.js';

noteMissingCorpus('parser-misc');

interface Misc {
  parseWords: { input: string; expected: string[] }[];
  jsonArrays: { valid: { input: string; expected: string[] }[]; notStringArray: string[]; notStringArrayError: string };
  nameVal: { instruction: string; rest: string; expected: string[] | null; expectError: boolean }[];
  lineNumbers: { dockerfile: string; startLine: number; endLine: number; children: [number, number][] };
  emptyContinuationWarnings: {
    dockerfile: string;
    warningCount: number;
    shortContains: string[][];
    detailContains: string;
  };
  lineTooLong: {
    dockerfilePrefix: string;
    repeatChar: string;
    repeatCount: number;
    dockerfileSuffix: string;
    expectedError: string;
  };
}

const EMPTY: Misc = {
  parseWords: [],
  jsonArrays: { valid: [], notStringArray: [], notStringArrayError: '' },
  nameVal: [],
  lineNumbers: { dockerfile: '', startLine: 0, endLine: 0, children: [] },
  emptyContinuationWarnings: { dockerfile: '', warningCount: 0, shortContains: [], detailContains: '' },
  lineTooLong: { dockerfilePrefix: '', repeatChar: '', repeatCount: 0, dockerfileSuffix: '', expectedError: '' },
};
const misc = loadJson<Misc>('parser-misc/parser-misc.json', EMPTY);

describe.skipIf(!corpusExists)('parser-misc.json', () => {
  describe('parseWords', () => {
    for (const c of misc.parseWords) {
      it(c.input, () => expect(parseWords(c.input, '\\')).toEqual(c.expected));
    }
  });

  describe('jsonArrays', () => {
    for (const c of misc.jsonArrays.valid) {
      it(`valid ${c.input}`, () => expect(parseJSON(c.input)).toEqual(c.expected));
    }
    for (const input of misc.jsonArrays.notStringArray) {
      it(`not a string array ${input}`, () => {
        expect(NOT_STRING_ARRAY).toBe(misc.jsonArrays.notStringArrayError);
        expect(() => parseJSON(input)).toThrow(misc.jsonArrays.notStringArrayError);
        expect(() => parseDockerfile(`CMD ${input}`, 'Dockerfile')).toThrow(misc.jsonArrays.notStringArrayError);
      });
    }
  });

  describe('nameVal', () => {
    for (const c of misc.nameVal) {
      it(`${c.instruction} ${c.rest}`, () => {
        if (c.expectError) expect(() => parseNameVal(c.rest, c.instruction, '\\')).toThrow();
        else expect(parseNameVal(c.rest, c.instruction, '\\').args).toEqual(c.expected);
      });
    }
  });

  it('lineNumbers', () => {
    const { dockerfile, startLine, endLine, children } = misc.lineNumbers;
    const df = parseDockerfile(dockerfile, 'Dockerfile');
    expect(df.instructions.map((i) => [i.location.line, i.endLine])).toEqual(children);
    expect(df.instructions[0]!.location.line).toBe(startLine);
    expect(df.instructions.at(-1)!.endLine).toBe(endLine);
  });

  it('emptyContinuationWarnings', () => {
    const w = misc.emptyContinuationWarnings;
    const df = parseDockerfile(w.dockerfile, 'Dockerfile');
    // BuildKit's parser words its warning this way; the build check (NoEmptyContinuation) has the description
    const shorts = df.emptyContinuations.map((e) => `Empty continuation line found in: ${e.instruction}`);
    expect(shorts).toHaveLength(w.warningCount);
    w.shortContains.forEach((parts, i) => {
      for (const part of parts) expect(shorts[i]).toContain(part);
    });
    expect(RULES.NoEmptyContinuation.description.toLowerCase()).toContain(w.detailContains);
  });

  it('lineTooLong', () => {
    const t = misc.lineTooLong;
    const source = t.dockerfilePrefix + t.repeatChar.repeat(t.repeatCount) + t.dockerfileSuffix;
    expect(thrownMessage(() => parseDockerfile(source, 'Dockerfile'))).toBe(t.expectedError);
    // One byte shorter is allowed.
    const fits = t.dockerfilePrefix + t.repeatChar.repeat(65535 - 13) + t.dockerfileSuffix;
    expect(() => parseDockerfile(fits, 'Dockerfile')).not.toThrow();
  });
});
