import { describe, expect, it } from 'vitest';
import type { ExportReport } from './exporter.js';
import { EXPORTERS, exporterOrAlias, exporterTypes, printReport } from './exporters.js';

describe('the exporter table', () => {
  it('names each type once, aliases included', () => {
    const types = exporterTypes();
    expect(types).toEqual(['oci', 'docker', 'local', 'tar', 'image', 'registry']);
    expect(new Set(types).size).toBe(types.length);
  });

  it('resolves an alias to its exporter', () => {
    expect(exporterOrAlias('registry')).toMatchObject({ exporter: { type: 'image' }, alias: 'registry' });
    expect(exporterOrAlias('oci')?.alias).toBeUndefined();
    expect(exporterOrAlias('nope')).toBeUndefined();
  });

  it('prints each report as the closing summary always did', () => {
    const lines = (reports: (ExportReport & Record<string, unknown>)[]): string[] => reports.map(printReport);
    expect(
      lines([
        { type: 'store', name: 'app:1', root: '/s' },
        { type: 'image', names: ['r/a:1', 'r/a:2'], pushed: true },
        { type: 'image', names: ['a:1'], pushed: false },
        { type: 'local', dest: '/out' },
        { type: 'tar', dest: '-' },
        { type: 'oci', dest: 'dir', layout: true },
        { type: 'oci', dest: 'a.tar', layout: false },
        { type: 'docker', dest: 'd.tar' },
      ]),
    ).toEqual([
      'stored as app:1 in /s/content',
      'pushed r/a:1, r/a:2',
      'named a:1',
      'wrote the root filesystem to /out',
      'wrote the root filesystem as tar -',
      'wrote OCI layout dir',
      'wrote oci archive a.tar',
      'wrote docker archive d.tar',
    ]);
  });

  it('has an example and keys for every exporter, and dest only where it takes one', () => {
    for (const e of EXPORTERS) {
      expect(e.example).toContain(`type=${e.type}`);
      expect(e.keys.includes('dest')).toBe(e.dest !== undefined);
    }
  });
});
