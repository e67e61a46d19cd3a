/** BuildKit directives/directives.json: `# escape=`, `# syntax=`, `# check=`. */
import { describe, expect, it } from 'vitest';
import { detectSyntax, findDirective, parseDirectives, type DirectiveLookup } from '../../src/frontend/directives.js';
import { parseDockerfile } from '../../src/frontend/parser.js';
import { corpusExists, loadJson, noteMissingCorpus } from './corpus.js';

noteMissingCorpus('directives');

interface LookupCase {
  input: string;
  found: boolean;
  ref: string;
  cmdline: string;
  startLine: number | null;
  endLine: number | null;
}

interface Directives {
  parseAll: { input: string; expected: { name: string; value: string }[] }[];
  detectSyntax: LookupCase[];
  parseDirectiveCheck: LookupCase[];
}

const data = loadJson<Directives>('directives/directives.json', {
  parseAll: [],
  detectSyntax: [],
  parseDirectiveCheck: [],
});

function checkLookup(got: DirectiveLookup | undefined, c: LookupCase): void {
  expect(got !== undefined).toBe(c.found);
  expect(got?.ref ?? '').toBe(c.ref);
  expect(got?.cmdline ?? '').toBe(c.cmdline);
  expect(got?.line ?? null).toBe(c.startLine);
  expect(got?.line ?? null).toBe(c.endLine); // a directive is one line
}

describe.skipIf(!corpusExists)('directives.json', () => {
  describe('parseAll', () => {
    for (const c of data.parseAll) {
      it(JSON.stringify(c.input), () => {
        expect(parseDirectives(c.input).map(({ name, value }) => ({ name, value }))).toEqual(c.expected);
        // The parser reads the same directives while parsing (these inputs hold no instruction).
        const df = parseDockerfile(c.input + 'FROM scratch\n', 'Dockerfile');
        const escape = c.expected.find((d) => d.name === 'escape');
        if (escape) expect(df.directives.escape).toBe(escape.value);
      });
    }
  });

  describe('detectSyntax', () => {
    for (const c of data.detectSyntax) {
      it(JSON.stringify(c.input), () => checkLookup(detectSyntax(c.input), c));
    }
  });

  describe('parseDirectiveCheck', () => {
    for (const c of data.parseDirectiveCheck) {
      it(JSON.stringify(c.input), () => checkLookup(findDirective('check', c.input), c));
    }
  });
});
