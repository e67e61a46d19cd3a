/** BuildKit parser-testfiles-negative/: each Dockerfile must fail to parse (with a located UserError). */
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { parseDockerfile } from '../../src/frontend/parser.js';
import { corpusExists, listDirs, noteMissingCorpus, readText } from './corpus.js';

noteMissingCorpus('parser-testfiles-negative');

/** BuildKit's messages (upstream only asserts that parsing fails; we also check the text). */
const MESSAGES: Record<string, string> = {
  empty_dockerfile: 'file with no instructions',
  only_comments: 'file with no instructions',
  env_no_value: 'ENV must have two arguments',
  'shykes-nested-json': 'when using JSON array syntax, arrays must be comprised of strings only',
};

describe.skipIf(!corpusExists)('parser-testfiles-negative', () => {
  for (const dir of listDirs('parser-testfiles-negative')) {
    it(dir, () => {
      const source = readText(`parser-testfiles-negative/${dir}/Dockerfile`);
      let error: unknown;
      try {
        parseDockerfile(source, 'Dockerfile');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(UserError);
      const e = error as UserError;
      expect(e.location?.file).toBe('Dockerfile');
      expect(e.location?.line).toBeGreaterThanOrEqual(1);
      if (MESSAGES[dir]) expect(e.message).toBe(MESSAGES[dir]);
    });
  }
});
