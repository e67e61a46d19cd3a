import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyStartError, startFailureIn } from './attached-runc.js';

describe("runc's start errors, as docker sorts them", () => {
  it('not found, not executable, anything else', () => {
    const prefix = 'runc run failed: unable to start container process: ';
    expect(classifyStartError(`${prefix}exec: "nope": executable file not found in $PATH`)).toBe('not-found');
    expect(classifyStartError(`${prefix}exec: "/nope": stat /nope: no such file or directory`)).toBe('not-found');
    expect(classifyStartError(`${prefix}exec: "/etc": permission denied`)).toBe('not-executable');
    expect(classifyStartError(`${prefix}exec: "/x": exec format error`)).toBe('other');
    // a mount's missing source is no missing command
    expect(classifyStartError('runc run failed: mount /a to /b: no such file or directory')).toBe('other');
  });

  it('reads the first error of a json log; none means the process ran', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbuild-runclog-'));
    const log = join(dir, 'runc.log');
    writeFileSync(
      log,
      '{"level":"warning","msg":"x"}\n{"level":"error","msg":"runc run failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH"}\n',
    );
    expect(await startFailureIn(log)).toBe('not-found');
    writeFileSync(log, '{"level":"warning","msg":"x"}\n');
    expect(await startFailureIn(log)).toBeUndefined();
    expect(await startFailureIn(join(dir, 'missing'))).toBeUndefined();
  });
});
