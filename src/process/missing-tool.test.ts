import { describe, expect, it } from 'vitest';
import { EnvironmentError } from '../errors.js';
import { missingTool } from './missing-tool.js';

describe('missingTool', () => {
  it('names the tool, what needs it, and the Debian package that has it', () => {
    const e = missingTool('getfattr');
    expect(e).toBeInstanceOf(EnvironmentError);
    expect(e.message).toBe('getfattr is not installed (or not on PATH)');
    expect(e.hint).toBe('install it (apt-get install attr) or add the directory that holds it to PATH');
    expect(missingTool('runc', { why: 'tsbuild runs RUN steps in it' }).message).toBe(
      'runc is not installed (or not on PATH): tsbuild runs RUN steps in it',
    );
    expect(missingTool('zstd').hint).toMatch(/apt-get install zstd\b/);
    expect(missingTool('mount').hint).toMatch(/apt-get install mount\b/);
    expect(missingTool('git').hint).toMatch(/apt-get install git\b/);
    expect(missingTool('setfattr').hint).toMatch(/apt-get install attr\b/);
  });

  it('a tool without a known package still says to install it', () => {
    expect(missingTool('frobnicate').hint).toBe('install it or add the directory that holds it to PATH');
  });
});
