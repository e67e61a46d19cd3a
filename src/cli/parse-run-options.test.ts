import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseContainerName,
  parseEnvFile,
  parseEnvOption,
  parseNetwork,
  parseVolume,
  parseWorkdir,
} from './parse-run-options.js';

describe('tsbuild run flags', () => {
  it('-e: K=V as given, K from this environment or bare when unset', () => {
    expect(parseEnvOption('A=b=c')).toBe('A=b=c');
    expect(parseEnvOption('A=')).toBe('A=');
    expect(parseEnvOption('HOME_X', { HOME_X: '/h' })).toBe('HOME_X=/h');
    expect(parseEnvOption('UNSET_X', {})).toBe('UNSET_X');
    expect(() => parseEnvOption('=x')).toThrow('invalid environment variable: =x');
  });

  it('--env-file: comments and blank lines skipped, values kept as written', () => {
    const text = '# comment\n\n  A=1\nB="quoted" \nC\r\nD\n';
    expect(parseEnvFile(text, 'f', { C: 'from-env' })).toEqual(['A=1', 'B="quoted" ', 'C=from-env', 'D']);
    expect(() => parseEnvFile('A B=1\n', 'f.env')).toThrow("f.env:1: variable 'A B' contains whitespaces");
  });

  it('-v: an existing absolute host path, an absolute target, ro or rw', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbuild-vol-'));
    expect(parseVolume(`${dir}:/data`)).toEqual({ source: dir, target: '/data', readonly: false });
    expect(parseVolume(`${dir}:/data:ro`)).toEqual({ source: dir, target: '/data', readonly: true });
    expect(parseVolume(`${dir}:/data:rw`).readonly).toBe(false);
    expect(() => parseVolume('./rel:/data')).toThrow('the host path must be absolute');
    expect(() => parseVolume('named:/data')).toThrow('the host path must be absolute');
    expect(() => parseVolume(`${dir}:data`)).toThrow('the container path must be absolute');
    expect(() => parseVolume(`${dir}:/data:z`)).toThrow('unknown mode z');
    expect(() => parseVolume(`${dir}/missing:/data`)).toThrow('does not exist');
    expect(() => parseVolume('/only')).toThrow('invalid volume specification');
  });

  it('--network: host or none; bridge says there is none', () => {
    expect(parseNetwork('host')).toBe('host');
    expect(parseNetwork('none')).toBe('none');
    expect(() => parseNetwork('bridge')).toThrow('supports host (the default) and none');
  });

  it('-w must be absolute, --name as docker names containers', () => {
    expect(parseWorkdir('/x')).toBe('/x');
    expect(() => parseWorkdir('x')).toThrow('needs to be an absolute path');
    expect(parseContainerName('web_1.a-b')).toBe('web_1.a-b');
    expect(() => parseContainerName('-x')).toThrow('invalid container name');
    expect(() => parseContainerName('a/b')).toThrow('invalid container name');
  });
});
