/** BuildKit parser-testfiles/: each Dockerfile's AST dump must equal `result` byte for byte. */
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../src/frontend/parser.js';
import { corpusExists, listDirs, noteMissingCorpus, readText } from './corpus.js';
import { dumpDockerfile } from './dump.js';

noteMissingCorpus('parser-testfiles');

describe.skipIf(!corpusExists)('parser-testfiles', () => {
  for (const dir of listDirs('parser-testfiles')) {
    it(dir, () => {
      const source = readText(`parser-testfiles/${dir}/Dockerfile`);
      const expected = readText(`parser-testfiles/${dir}/result`);
      expect(dumpDockerfile(parseDockerfile(source, 'Dockerfile'))).toBe(expected);
    });
  }
});
