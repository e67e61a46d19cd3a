/** BuildKit instructions-errors/errors.json: errors raised when raw instructions become typed ones. */
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { toInstructions } from '../../src/frontend/instructions.js';
import { parseDockerfile, type RawDockerfile, type RawInstruction } from '../../src/frontend/parser.js';
import { corpusExists, loadJson, noteMissingCorpus } from './corpus.js';

noteMissingCorpus('instructions-errors');

interface DockerfileCase {
  source: string;
  name: string;
  dockerfile: string;
  expectedError: string;
  match: 'exact' | 'contains';
}
interface NodeCase {
  source: string;
  instruction: string;
  args: string[];
  expectedError: string;
  match: 'exact' | 'contains';
}
interface DurationCase {
  flag: string;
  value: string;
  expectError: boolean;
  errorContains: string | null;
}
interface ErrorsData {
  dockerfileCases: DockerfileCase[];
  nodeCases: NodeCase[];
  durationFlagCases: DurationCase[];
}

const data = loadJson<ErrorsData>('instructions-errors/errors.json', {
  dockerfileCases: [],
  nodeCases: [],
  durationFlagCases: [],
});

/** Converts only the first instruction, as the upstream tests do. */
function convertFirst(raw: RawDockerfile): UserError {
  try {
    toInstructions({ ...raw, instructions: raw.instructions.slice(0, 1) }, 'Dockerfile');
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('conversion succeeded');
}

function checkMessage(err: UserError, expected: string, match: 'exact' | 'contains'): void {
  if (match === 'exact') expect(err.message).toBe(expected);
  else expect(err.message).toContain(expected);
  expect(err.location?.file).toBe('Dockerfile');
  expect(err.location?.line).toBe(1);
}

describe.skipIf(!corpusExists)('errors.json', () => {
  describe('dockerfileCases', () => {
    data.dockerfileCases.forEach((c, i) => {
      it(`#${i} ${c.source}: ${c.name}`, () => {
        const raw = parseDockerfile(c.dockerfile, 'Dockerfile'); // parsing itself must succeed
        checkMessage(convertFirst(raw), c.expectedError, c.match);
      });
    });
  });

  describe('nodeCases', () => {
    data.nodeCases.forEach((c, i) => {
      it(`#${i} ${c.source}: ${c.instruction} ${JSON.stringify(c.args)}`, () => {
        const location = { file: 'Dockerfile', line: 1, column: 1 };
        const node: RawInstruction = {
          keyword: c.instruction.toUpperCase(),
          writtenKeyword: c.instruction,
          flags: [],
          args: c.args,
          json: false,
          heredocs: [],
          location,
          endLine: 1,
          original: `${c.instruction} ${c.args.join(' ')}`,
          comments: [],
        };
        checkMessage(
          convertFirst({ directives: { escape: '\\' }, instructions: [node], emptyContinuations: [] }),
          c.expectedError,
          c.match,
        );
      });
    });
  });

  describe('durationFlagCases', () => {
    data.durationFlagCases.forEach((c) => {
      it(`--${c.flag}=${c.value}`, () => {
        const raw = parseDockerfile(`HEALTHCHECK --${c.flag}=${c.value} CMD true`, 'Dockerfile');
        if (c.expectError) {
          checkMessage(convertFirst(raw), c.errorContains ?? '', 'contains');
          return;
        }
        const [hc] = toInstructions(raw, 'Dockerfile').instructions;
        expect(hc?.kind).toBe('HEALTHCHECK');
      });
    });
  });
});
