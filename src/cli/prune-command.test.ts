import { describe, expect, it } from 'vitest';
import { parseUntil } from './prune-command.js';

describe('prune --filter', () => {
  it('reads until= as a Go duration or days', async () => {
    expect(await parseUntil(['until=24h'])).toBe(86_400_000);
    expect(await parseUntil(['until=90m'])).toBe(5_400_000);
    expect(await parseUntil(['until=7d'])).toBe(7 * 86_400_000);
    expect(await parseUntil([])).toBeUndefined();
  });
  it('refuses what it does not know, saying what it takes', async () => {
    await expect(parseUntil(['label=x'])).rejects.toThrow(/unknown filter/);
    await expect(parseUntil(['until=soon'])).rejects.toThrow(/not a duration/);
  });
});
