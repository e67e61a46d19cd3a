import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffSelections, decodeSelection, encodeSelection, readSelection, writeSelection } from './selection-files.js';
import { StepIndex, stepIndexFile } from './step-index.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-stepindex-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('StepIndex', () => {
  it('gives the previous build its keys back, and merges with what another build wrote', async () => {
    const file = stepIndexFile(tmp, '/ctx', '/ctx/Dockerfile');
    const a = new StepIndex(file);
    a.record('0/1/exec', { key: 'k1', name: 'RUN a' });
    await a.save();
    const b = new StepIndex(file);
    expect(await b.previousOf('0/1/exec')).toEqual({ key: 'k1', name: 'RUN a' });
    const other = new StepIndex(file);
    other.record('x/1/copy', { key: 'k9', name: 'COPY' });
    await other.save();
    b.record('0/1/exec', { key: 'k2', name: 'RUN b' });
    await b.save();
    const steps = (JSON.parse(await readFile(file, 'utf8')) as { steps: Record<string, { key: string }> }).steps;
    expect(steps['0/1/exec']?.key).toBe('k2');
    expect(steps['x/1/copy']?.key).toBe('k9');
  });

  it('is keyed by context and Dockerfile', () => {
    expect(stepIndexFile(tmp, '/a', '/a/Dockerfile')).not.toBe(stepIndexFile(tmp, '/a', '/a/other.Dockerfile'));
  });
});

describe('selection files', () => {
  it('round-trips and diffs by path', async () => {
    await writeSelection(tmp, 'sha256:abc', [
      { path: 'a', fingerprint: 'file\t644\t0:0\t\t1' },
      { path: 'b', fingerprint: 'file\t644\t0:0\t\t2' },
    ]);
    const before = (await readSelection(tmp, 'sha256:abc'))!;
    const after = decodeSelection(
      encodeSelection([
        { path: 'a', fingerprint: 'file\t644\t0:0\t\t9' },
        { path: 'c', fingerprint: 'file\t644\t0:0\t\t3' },
      ]),
    );
    expect(diffSelections(before, after)).toEqual({ added: ['c'], removed: ['b'], changed: ['a'] });
    expect(await readSelection(tmp, 'sha256:none')).toBeUndefined();
  });
});
