import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBuildContexts } from './parse-build-context.js';

describe('parseBuildContexts', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tsbuild-bc-'));
  mkdirSync(join(cwd, 'dir'));
  it('reads each form, keyed by the familiar name without :latest', () => {
    const m = parseBuildContexts(
      [
        'alpine:latest=docker-image://registry.example/a:1',
        'docker.io/library/base=./dir',
        'lay=oci-layout://./l@sha256:' + 'a'.repeat(64),
        'tagged=oci-layout://./l:v1',
        'empty=docker-image://scratch',
        'g=https://github.com/moby/buildkit.git#v0.10.0',
        'u=https://example.com/file.tar',
      ],
      cwd,
    );
    expect(m.get('alpine')).toEqual({ kind: 'image', ref: 'registry.example/a:1' });
    expect(m.get('base')).toEqual({ kind: 'dir', dir: join(cwd, 'dir') });
    expect(m.get('lay')).toEqual({
      kind: 'oci-layout',
      dir: join(cwd, 'l'),
      ref: `oci-layout://${join(cwd, 'l')}@sha256:${'a'.repeat(64)}`,
    });
    expect(m.get('tagged')).toMatchObject({ ref: `oci-layout://${join(cwd, 'l')}:v1` });
    expect(m.get('empty')).toEqual({ kind: 'image', ref: 'scratch' });
    expect(m.get('g')?.kind).toBe('git');
    expect(m.get('u')?.kind).toBe('url');
  });
  it('refuses a value without =, a name that is no image name, a missing dir, a bad image', () => {
    expect(() => parseBuildContexts(['x'], cwd)).toThrow(/invalid context value: x, expected key=value/);
    expect(() => parseBuildContexts(['Up=./dir'], cwd)).toThrow(/invalid context name Up/);
    expect(() => parseBuildContexts(['x=./nope'], cwd)).toThrow(/failed to get build context x/);
    expect(() => parseBuildContexts(['x=docker-image://Bad'], cwd)).toThrow(/invalid image reference/);
    expect(() => parseBuildContexts(['x=target:other'], cwd)).toThrow(/bake targets/);
  });
});
