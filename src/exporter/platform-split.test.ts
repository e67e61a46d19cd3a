import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { platformSplit } from './platform-split.js';

describe('platformSplit', () => {
  it('is undefined unless given, then true or false', () => {
    expect(platformSplit({ type: 'local' })).toBeUndefined();
    expect(platformSplit({ type: 'local', options: { 'platform-split': 'true' } })).toBe(true);
    expect(platformSplit({ type: 'tar', options: { 'platform-split': 'false' } })).toBe(false);
  });
  it('refuses another value as a usage error', () => {
    expect(() => platformSplit({ type: 'local', options: { 'platform-split': 'yes' } }, 'type=local')).toThrow(
      UsageError,
    );
  });
});
