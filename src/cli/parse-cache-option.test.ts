import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { parseCacheFrom, parseCacheTo } from './parse-cache-option.js';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err.message;
    throw err;
  }
  throw new Error('parsed without error');
}

describe('parseCacheTo', () => {
  it('parses registry and local caches, mode max by default', () => {
    expect(parseCacheTo('type=registry,ref=reg:5000/app:cache')).toEqual({ type: 'registry', ref: 'reg:5000/app:cache', mode: 'max', ignoreError: false });
    expect(parseCacheTo('type=registry,ref=r/a:c,mode=min,ignore-error=true,compression=zstd')).toEqual({
      type: 'registry', ref: 'r/a:c', mode: 'min', ignoreError: true, compression: 'zstd',
    });
    expect(parseCacheTo('type=local,dest=/tmp/c')).toEqual({ type: 'local', dest: '/tmp/c', tag: 'latest', mode: 'max', ignoreError: false });
    expect(parseCacheTo('type=local,dest=c,tag=v2')).toMatchObject({ tag: 'v2' });
    expect(parseCacheTo('type=registry,ref=r/a:c,registry.insecure=true')).toMatchObject({ insecure: true });
  });

  it('takes a bare reference as a registry cache, and buildx flags that describe what tsbuild writes', () => {
    expect(parseCacheTo('reg/app:cache')).toMatchObject({ type: 'registry', ref: 'reg/app:cache', mode: 'max' });
    expect(parseCacheTo('type=registry,ref=r/a,image-manifest=true,oci-mediatypes=true')).toMatchObject({ type: 'registry' });
    expect(messageOf(() => parseCacheTo('type=registry,ref=r/a,image-manifest=false'))).toMatch(/always writes the cache as an OCI image manifest/);
  });

  it('rejects what it cannot do, naming the flag', () => {
    expect(messageOf(() => parseCacheTo('type=gha'))).toMatch(/unsupported cache type "gha" \(not supported by tsbuild\)/);
    expect(messageOf(() => parseCacheTo('type=registry,mode=max'))).toMatch(/needs ref=/);
    expect(messageOf(() => parseCacheTo('type=local'))).toMatch(/needs dest=/);
    expect(messageOf(() => parseCacheTo('type=registry,ref=r,mode=all'))).toMatch(/mode must be min or max/);
    expect(messageOf(() => parseCacheTo('type=registry,ref=r,mod=max'))).toMatch(/unknown option "mod".*did you mean "mode"/);
    expect(messageOf(() => parseCacheTo('type=local,dest=d,ref=x'))).toMatch(/unknown option "ref"/);
    expect(messageOf(() => parseCacheTo('type=registry,ref=r,compression=lz4'))).toMatch(/unknown compression "lz4"/);
    expect(messageOf(() => parseCacheTo('type=registry,"ref=r'))).toMatch(/unterminated quote/);
  });
});

describe('parseCacheFrom', () => {
  it('parses registry, local and bare references', () => {
    expect(parseCacheFrom('type=registry,ref=r/a:cache')).toEqual({ type: 'registry', ref: 'r/a:cache' });
    expect(parseCacheFrom('r/a:cache')).toEqual({ type: 'registry', ref: 'r/a:cache' });
    expect(parseCacheFrom('type=local,src=/c')).toEqual({ type: 'local', src: '/c', tag: 'latest' });
    expect(parseCacheFrom('type=local,src=/c,tag=v2')).toEqual({ type: 'local', src: '/c', tag: 'v2' });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseCacheFrom(`type=local,src=/c,digest=${digest}`)).toEqual({ type: 'local', src: '/c', tag: digest });
  });

  it('rejects bad specs', () => {
    expect(messageOf(() => parseCacheFrom('type=local,dest=/c'))).toMatch(/unknown option "dest"/);
    expect(messageOf(() => parseCacheFrom('type=local'))).toMatch(/needs src=/);
    expect(messageOf(() => parseCacheFrom('type=local,src=c,digest=sha256:12'))).toMatch(/digest must be/);
    expect(messageOf(() => parseCacheFrom(' '))).toMatch(/needs a value/);
  });
});
