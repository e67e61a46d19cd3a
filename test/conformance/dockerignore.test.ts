/** BuildKit dockerignore/ corpus (moby/patternmatcher and ignorefile): pattern matching and .dockerignore reading. */
import { describe, expect, it } from 'vitest';
import { IgnoreMatcher, parseDockerignore } from '../../src/cache/dockerignore.js';
import { cleanPath } from '../../src/cache/go-filepath.js';
import { corpusExists, loadJson, noteMissingCorpus } from './corpus.js';

noteMissingCorpus('dockerignore');

interface MatchCase {
  source: string;
  patterns: string[];
  path: string;
  expectedMatch: boolean;
  expectError: boolean;
  platform: 'all' | 'unix' | 'windows';
}

interface NewPatternsCase {
  source: string;
  patterns: string[];
  expectError: boolean;
  patternCount: number | null;
  exclusions: boolean | null;
  cleaned: string[] | null;
}

interface PatternMatcherData {
  matches: MatchCase[];
  legacyMatches: MatchCase[];
  newPatterns: NewPatternsCase[];
}

const pm = loadJson<PatternMatcherData>('dockerignore/patternmatcher.json', {
  matches: [],
  legacyMatches: [],
  newPatterns: [],
});

/** Errors surface either when the matcher is built or (for `[l-O]`-style ranges) on every match. */
function evaluate(c: MatchCase, path: string): boolean {
  const matcher = new IgnoreMatcher(c.patterns);
  return matcher.matches(path);
}

const title = (c: MatchCase, i: number) =>
  `#${i} ${c.source}: ${JSON.stringify(c.patterns)} ~ ${JSON.stringify(c.path)}`;

describe.skipIf(!corpusExists)('patternmatcher.json', () => {
  describe('matches', () => {
    pm.matches.forEach((c, i) => {
      if (c.platform === 'windows') {
        it.skip(`${title(c, i)} (Windows-only)`, () => {});
        return;
      }
      it(title(c, i), () => {
        if (c.expectError) {
          // Must fail on every call, not only the first.
          expect(() => evaluate(c, c.path)).toThrow();
          if (c.patterns.every((p) => p !== '!')) {
            let matcher: IgnoreMatcher | undefined;
            try {
              matcher = new IgnoreMatcher(c.patterns);
            } catch {
              return; // rejected at construction: fine
            }
            expect(() => matcher!.matches(c.path)).toThrow();
            expect(() => matcher!.matches(c.path)).toThrow();
          }
          return;
        }
        expect(evaluate(c, c.path)).toBe(c.expectedMatch);
      });
    });
  });

  describe('legacyMatches', () => {
    pm.legacyMatches.forEach((c, i) => {
      if (c.platform === 'windows') {
        it.skip(`${title(c, i)} (Windows-only)`, () => {});
        return;
      }
      it(title(c, i), () => {
        if (c.expectError) {
          expect(() => new IgnoreMatcher(c.patterns)).toThrow();
          return;
        }
        // The legacy one-shot API cleans the path and never matches the context root itself.
        const path = cleanPath(c.path);
        const got = path === '.' ? false : evaluate(c, path);
        expect(got).toBe(c.expectedMatch);
      });
    });
  });

  describe('newPatterns', () => {
    pm.newPatterns.forEach((c, i) => {
      it(`#${i} ${c.source}: ${JSON.stringify(c.patterns)}`, () => {
        if (c.expectError) {
          expect(() => new IgnoreMatcher(c.patterns)).toThrow();
          return;
        }
        const matcher = new IgnoreMatcher(c.patterns);
        if (c.patternCount !== null) expect(matcher.patterns).toHaveLength(c.patternCount);
        if (c.exclusions !== null) expect(matcher.hasExclusions).toBe(c.exclusions);
        if (c.cleaned !== null) expect(matcher.patterns).toEqual(c.cleaned);
      });
    });
  });
});

describe.skipIf(!corpusExists)('ignorefile.json', () => {
  const cases = loadJson<{ content: string; expected: string[] }[]>('dockerignore/ignorefile.json', []);
  cases.forEach((c, i) => {
    it(`#${i}`, () => {
      expect(parseDockerignore(c.content)).toEqual(c.expected);
      // With a BOM on the first line, the same patterns.
      expect(parseDockerignore('\uFEFF' + c.content)).toEqual(c.expected);
    });
  });
});
