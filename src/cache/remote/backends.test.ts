import { describe, expect, it } from 'vitest';
import { UserError } from '../../errors.js';
import { REMOTE_CACHES, remoteCacheFor, UNSUPPORTED_CACHE_TYPES } from './backends.js';
import type { FlagText } from './remote-cache.js';

function flagText(fields: Map<string, string>, flag: FlagText['flag'] = '--cache-to'): FlagText {
  return {
    flag,
    spec: [...fields].map(([k, v]) => `${k}=${v}`).join(','),
    bool: (key) => fields.get(key) === 'true',
    required(key) {
      const v = fields.get(key);
      if (!v) throw new UserError(`needs ${key}=`);
      return v;
    },
  };
}

describe('remote cache backends', () => {
  it('are found by their type, one each, none of the types tsbuild names as unsupported', () => {
    const types = REMOTE_CACHES.map((b) => b.type);
    expect(new Set(types).size).toBe(types.length);
    for (const t of types) expect(remoteCacheFor(t)?.type).toBe(t);
    expect(types.filter((t) => UNSUPPORTED_CACHE_TYPES.includes(t))).toEqual([]);
    expect(remoteCacheFor('gha')).toBeUndefined();
  });

  it('registry: a reference, insecure only when asked, described by its reference', () => {
    const reg = remoteCacheFor('registry')!;
    const fields0 = new Map([['ref', 'localhost:5000/app:cache']]);
    const to = reg.parseTo(fields0, flagText(fields0));
    expect(to).toEqual({ type: 'registry', ref: 'localhost:5000/app:cache' });
    expect(reg.describeTo(to)).toBe('localhost:5000/app:cache');
    expect(reg.insecureRegistry?.(to)).toBeUndefined();
    const fields = new Map([
      ['ref', 'reg.example:5000/a:c'],
      ['registry.insecure', 'true'],
    ]);
    const insecure = reg.parseFrom(fields, flagText(fields, '--cache-from'));
    expect(reg.insecureRegistry?.(insecure)).toBe('reg.example:5000');
  });

  it('local: dest to write, src (with a tag or digest) to read', () => {
    const local = remoteCacheFor('local')!;
    const to = new Map([['dest', '/c']]);
    expect(local.parseTo(to, flagText(to))).toEqual({ type: 'local', dest: '/c', tag: 'latest' });
    const from = new Map([
      ['src', '/c'],
      ['tag', 'v2'],
    ]);
    const parsed = local.parseFrom(from, flagText(from, '--cache-from'));
    expect(parsed).toEqual({ type: 'local', src: '/c', tag: 'v2' });
    expect(local.describeFrom(parsed)).toBe('/c:v2');
    expect(() => local.parseTo(new Map(), flagText(new Map()))).toThrow(/needs dest=/);
  });
});
