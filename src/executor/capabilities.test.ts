import { describe, expect, it } from 'vitest';
import { capsFromMask, effectiveCaps } from './capabilities.js';

describe('capabilities', () => {
  it('names the bits of a mask', () => {
    expect(capsFromMask('0000000000000001')).toEqual(['CAP_CHOWN']);
    expect(capsFromMask('00000000a80425fb')).toHaveLength(14);
    expect(capsFromMask('00000000a80425fb')).toContain('CAP_SETFCAP');
    expect(capsFromMask('000001ffffffffff')).toHaveLength(41);
    expect(capsFromMask('000001ffffffffff')).toContain('CAP_SYS_ADMIN');
    // bits past the last known one are not named
    expect(capsFromMask('ffffffffffffffff')).toHaveLength(41);
  });

  it('reads CapEff from a status file', () => {
    expect(effectiveCaps('Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t0000000000200000\n')).toEqual([
      'CAP_SYS_ADMIN',
    ]);
    expect(effectiveCaps('Name:\tx\n')).toEqual([]);
  });
});
