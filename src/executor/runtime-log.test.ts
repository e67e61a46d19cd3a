import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runtimeLogErrors } from './runtime-log.js';

const dir = mkdtempSync(join(tmpdir(), 'tsbuild-runtime-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runtimeLogErrors', () => {
  it('gives the error and fatal messages in order, skipping other levels and lines that are not JSON', () => {
    const log = join(dir, 'runc.log');
    writeFileSync(
      log,
      [
        '{"level":"warning","msg":"cannot read oom kills"}',
        '{"level":"error","msg":"exec: \\"x\\": executable file not found in $PATH"}',
        'null',
        '{"level":"fatal"}',
        '{"level":"error","msg":"trunc',
      ].join('\n'),
    );
    expect(runtimeLogErrors(log)).toEqual(['exec: "x": executable file not found in $PATH', '']);
  });

  it('has none for a missing log', () => {
    expect(runtimeLogErrors(join(dir, 'absent.log'))).toEqual([]);
  });
});
