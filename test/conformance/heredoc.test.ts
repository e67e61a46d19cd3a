/** BuildKit heredoc/ corpus: detection, bodies, and heredocs in typed COPY/RUN instructions. */
import { describe, expect, it } from 'vitest';
import { chompHeredocContent, heredocsFromLine, parseHeredoc } from '../../src/frontend/heredoc.js';
import type { CopyInstruction, RunInstruction } from '../../src/frontend/instruction-types.js';
import { toInstructions } from '../../src/frontend/instructions.js';
import { parseDockerfile } from '../../src/frontend/parser.js';
import { corpusExists, loadJson, noteMissingCorpus } from './corpus.js';

noteMissingCorpus('heredoc');

interface HeredocJson {
  name: string;
  fileDescriptor: number;
  expand: boolean;
  chomp: boolean;
  content: string;
}

interface ParserDoc {
  name: string;
  dockerfile: string;
  children: { index: number; original: string; heredocs: HeredocJson[] }[];
}

describe.skipIf(!corpusExists)('parser-heredocs.json', () => {
  const { documents } = loadJson<{ documents: ParserDoc[] }>('heredoc/parser-heredocs.json', { documents: [] });
  for (const doc of documents) {
    describe(doc.name, () => {
      const parsed = () => parseDockerfile(doc.dockerfile, 'Dockerfile');
      if (doc.name === 'TestParseExtractsHeredoc') {
        it('has the reference 28 instructions', () => expect(parsed().instructions).toHaveLength(28));
      }
      for (const child of doc.children) {
        it(`[${child.index}] ${child.original}`, () => {
          const ins = parsed().instructions[child.index]!;
          expect(ins.original).toBe(child.original);
          const got = ins.heredocs.map(({ name, fileDescriptor, expand, chomp, content }) => ({
            name,
            fileDescriptor,
            expand,
            chomp,
            content,
          }));
          expect(got).toEqual(child.heredocs);
        });
      }
    });
  }
});

describe.skipIf(!corpusExists)('heredoc-word.json', () => {
  const data = loadJson<{ valid: { input: string; name: string }[]; invalid: string[]; notHeredoc: string[] }>(
    'heredoc/heredoc-word.json',
    {
      valid: [],
      invalid: [],
      notHeredoc: [],
    },
  );
  for (const c of data.valid) it(`valid ${c.input}`, () => expect(parseHeredoc(c.input)?.name).toBe(c.name));
  for (const input of data.invalid) it(`invalid ${input}`, () => expect(() => parseHeredoc(input)).toThrow());
  for (const input of data.notHeredoc)
    it(`not a heredoc ${JSON.stringify(input)}`, () => expect(parseHeredoc(input)).toBeUndefined());
});

describe.skipIf(!corpusExists)('heredocs-from-line.json', () => {
  const cases = loadJson<{ line: string; names: string[] }[]>('heredoc/heredocs-from-line.json', []);
  for (const c of cases) it(c.line, () => expect(heredocsFromLine(c.line).map((h) => h.name)).toEqual(c.names));
});

describe.skipIf(!corpusExists)('chomp.json', () => {
  const cases = loadJson<{ input: string; expected: string }[]>('heredoc/chomp.json', []);
  for (const c of cases) it(JSON.stringify(c.input), () => expect(chompHeredocContent(c.input)).toBe(c.expected));
});

interface CopyCase {
  dockerfile: string;
  expected: {
    destPath: string;
    sourcePaths: string[];
    sourceContents: { path: string; data: string; expand: boolean }[];
  };
}

describe.skipIf(!corpusExists)('instructions-copy-heredoc.json', () => {
  const cases = loadJson<CopyCase[]>('heredoc/instructions-copy-heredoc.json', []);
  for (const c of cases) {
    it(JSON.stringify(c.dockerfile), () => {
      const copy = toInstructions(parseDockerfile(c.dockerfile, 'Dockerfile'), 'Dockerfile')
        .instructions[0] as CopyInstruction;
      expect(copy.kind).toBe('COPY');
      expect(copy.dest).toBe(c.expected.destPath);
      // Heredoc sources stay in `sources` as `<<NAME` placeholders (the contract); the rest are paths.
      const placeholders = new Set(copy.heredocs.map((h) => `<<${h.name}`));
      expect(copy.sources.filter((s) => !placeholders.has(s))).toEqual(c.expected.sourcePaths);
      expect(copy.heredocs.map((h) => ({ path: h.name, data: h.content, expand: h.expand }))).toEqual(
        c.expected.sourceContents,
      );
    });
  }
});

interface RunCase {
  dockerfile: string;
  prependShell: boolean;
  cmdLine: string[];
  files: { name: string; data: string; chomp: boolean }[];
}

describe.skipIf(!corpusExists)('instructions-run-heredoc.json', () => {
  const cases = loadJson<RunCase[]>('heredoc/instructions-run-heredoc.json', []);
  for (const c of cases) {
    it(JSON.stringify(c.dockerfile), () => {
      const raw = parseDockerfile(c.dockerfile, 'Dockerfile');
      const run = toInstructions(raw, 'Dockerfile').instructions[0] as RunInstruction;
      expect(run.kind).toBe('RUN');
      expect(run.prependShell).toBe(c.prependShell);
      expect(run.command).toEqual(c.cmdLine);
      // BuildKit's RUN files carry the unchomped body plus the chomp flag: that is the parser's
      // heredoc. The typed heredoc follows the contract and is already chomped.
      expect(raw.instructions[0]!.heredocs.map((h) => ({ name: h.name, data: h.content, chomp: h.chomp }))).toEqual(
        c.files,
      );
      expect(run.heredocs.map((h) => ({ name: h.name, content: h.content, chomp: h.chomp }))).toEqual(
        c.files.map((f) => ({ name: f.name, content: f.chomp ? chompHeredocContent(f.data) : f.data, chomp: f.chomp })),
      );
    });
  }
});
