import { describe, expect, test } from 'vitest';
import { UserError } from '../errors.js';
import {
  createdAt,
  createdSince,
  ellipsis,
  formatImageId,
  humanDuration,
  humanSize,
  table,
  templateFormatter,
} from './image-display.js';

const ID = `sha256:${'3edf2b74067a'}${'0'.repeat(52)}`;

describe('docker-style image display', () => {
  test('an image ID is 12 hex characters, or the whole sha256: digest with --no-trunc', () => {
    expect(formatImageId(ID)).toBe('3edf2b74067a');
    expect(formatImageId(ID, true)).toBe(ID);
  });

  test("relative times follow go-units' HumanDuration", () => {
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(1000)).toBe('1 second');
    expect(humanDuration(42_000)).toBe('42 seconds');
    expect(humanDuration(90_000)).toBe('About a minute');
    expect(humanDuration(5 * 60_000)).toBe('5 minutes');
    expect(humanDuration(75 * 60_000)).toBe('About an hour');
    expect(humanDuration(30 * 3_600_000)).toBe('30 hours');
    expect(humanDuration(3 * 86_400_000)).toBe('3 days');
    expect(humanDuration(21 * 86_400_000)).toBe('3 weeks');
    expect(humanDuration(90 * 86_400_000)).toBe('3 months');
    expect(humanDuration(3 * 365 * 86_400_000)).toBe('3 years');
    const now = Date.parse('2024-01-01T01:00:00Z');
    expect(createdSince('2024-01-01T00:55:00Z', now)).toBe('5 minutes ago');
    expect(createdSince(undefined, now)).toBe('N/A');
    expect(createdAt('2024-01-02T15:04:05.123Z')).toBe('2024-01-02 15:04:05 +0000 UTC');
  });

  test('sizes are decimal with three significant digits, as docker images prints them', () => {
    expect(humanSize(0)).toBe('0B');
    expect(humanSize(999)).toBe('999B');
    expect(humanSize(1000)).toBe('1kB');
    expect(humanSize(1_095_437)).toBe('1.1MB');
    expect(humanSize(4_261_120)).toBe('4.26MB');
    expect(humanSize(123_456_789_012)).toBe('123GB');
  });

  test('long commands end in an ellipsis, and tables pad like docker (min 10, padding 3)', () => {
    expect(ellipsis('a'.repeat(50), 45)).toBe(`${'a'.repeat(44)}…`);
    expect(ellipsis('short', 45)).toBe('short');
    expect(
      table([
        ['REPOSITORY', 'TAG'],
        ['app', 'latest'],
      ]),
    ).toBe('REPOSITORY   TAG\napp          latest\n');
  });

  test('--format templates: fields, nested fields, json, table; anything else is refused', () => {
    const row = { ID: 'abc', Config: { Env: ['A=1'] } };
    const t = templateFormatter('{{.ID}}\\t{{json .Config.Env}} {{json .}}', '--format');
    if (typeof t === 'string') throw new Error('expected a template');
    expect(t.render(row)).toBe(`abc\t["A=1"] ${JSON.stringify(row)}`);
    expect(templateFormatter('json', '--format')).toBe('json');
    const tab = templateFormatter('table {{.ID}}', '--format');
    expect(typeof tab !== 'string' && tab.header).toEqual(['ID']);
    expect(() => templateFormatter('{{range .}}{{end}}', '--format')).toThrow(UserError);
  });
});
