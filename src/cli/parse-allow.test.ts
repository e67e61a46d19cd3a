import { describe, expect, it } from 'vitest';
import { parseAllow } from './parse-allow.js';

describe('parseAllow', () => {
  it('reads buildx entitlements, repeated or as a list', () => {
    expect(parseAllow(['security.insecure', 'network.host,fs.read=/srv/layouts'])).toEqual({
      securityInsecure: true,
      networkHost: true,
      fsRead: ['/srv/layouts'],
    });
    expect(parseAllow([])).toEqual({ securityInsecure: false, networkHost: false, fsRead: [] });
  });

  it('accepts buildx’s device entitlement (RUN --device needs none here: environment only)', () => {
    expect(parseAllow(['device', 'device=vendor1.com/device=foo'])).toEqual({
      securityInsecure: false,
      networkHost: false,
      fsRead: [],
    });
  });

  it('makes fs.read paths absolute', () => {
    expect(parseAllow(['fs.read=.']).fsRead).toEqual([process.cwd()]);
  });

  it('refuses what it does not know, with the nearest name', () => {
    expect(() => parseAllow(['security.insecur'])).toThrow(/did you mean "security.insecure"/);
    expect(() => parseAllow(['fs.read'])).toThrow(/needs a directory/);
  });
});
