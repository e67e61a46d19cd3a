import { chmod, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOnPath } from './find-on-path.js';

describe('findOnPath', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'find-on-path-'));
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    await mkdir(join(dir, 'a/tool')); // a directory of that name is not the tool
    await writeFile(join(dir, 'b/tool'), '#!/bin/sh\n');
    await chmod(join(dir, 'b/tool'), 0o755);
    await writeFile(join(dir, 'a/plain'), 'not executable');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('finds the first executable file of that name, skipping directories and empty entries', () => {
    expect(findOnPath('tool', { PATH: `::${join(dir, 'a')}:${join(dir, 'b')}` })).toBe(join(dir, 'b/tool'));
  });

  it('is undefined when no PATH entry has it as an executable file', () => {
    expect(findOnPath('tool', { PATH: join(dir, 'a') })).toBeUndefined();
    expect(findOnPath('tool', {})).toBeUndefined();
    expect(findOnPath('plain', { PATH: join(dir, 'a') })).toBeUndefined();
  });
});
