import { describe, expect, it } from 'vitest';
import { userErrorOfSync } from '../../test/helpers/user-error.js';
import { parseCacheFrom, parseCacheTo } from './parse-cache-option.js';

describe('parseCacheTo', () => {
  it('parses registry and local caches, mode max by default', () => {
    expect(parseCacheTo('type=registry,ref=reg:5000/app:cache')).toEqual({
      type: 'registry',
      ref: 'reg:5000/app:cache',
      mode: 'max',
      ignoreError: false,
    });
    expect(parseCacheTo('type=registry,ref=r/a:c,mode=min,ignore-error=true,compression=zstd')).toEqual({
      type: 'registry',
      ref: 'r/a:c',
      mode: 'min',
      ignoreError: true,
      compression: 'zstd',
    });
    expect(parseCacheTo('type=local,dest=/tmp/c')).toEqual({
      type: 'local',
      dest: '/tmp/c',
      tag: 'latest',
      mode: 'max',
      ignoreError: false,
    });
    expect(parseCacheTo('type=local,dest=c,tag=v2')).toMatchObject({ tag: 'v2' });
    expect(parseCacheTo('type=registry,ref=r/a:c,registry.insecure=true')).toMatchObject({ insecure: true });
  });

  it('takes a bare reference as a registry cache, and buildx flags that describe what tsbuild writes', () => {
    expect(parseCacheTo('reg/app:cache')).toMatchObject({ type: 'registry', ref: 'reg/app:cache', mode: 'max' });
    expect(parseCacheTo('type=registry,ref=r/a,image-manifest=true,oci-mediatypes=true')).toMatchObject({
      type: 'registry',
    });
    expect(userErrorOfSync(() => parseCacheTo('type=registry,ref=r/a,image-manifest=false')).message).toMatch(
      /always writes the cache as an OCI image manifest/,
    );
  });

  it('rejects what it cannot do, naming the flag', () => {
    expect(userErrorOfSync(() => parseCacheTo('type=gha')).message).toMatch(
      /unsupported cache type "gha" \(not supported by tsbuild\)/,
    );
    expect(userErrorOfSync(() => parseCacheTo('type=registry,mode=max')).message).toMatch(/needs ref=/);
    expect(userErrorOfSync(() => parseCacheTo('type=local')).message).toMatch(/needs dest=/);
    expect(userErrorOfSync(() => parseCacheTo('type=registry,ref=r,mode=all')).message).toMatch(
      /mode must be min or max/,
    );
    expect(userErrorOfSync(() => parseCacheTo('type=registry,ref=r,mod=max')).message).toMatch(
      /unknown option "mod".*did you mean "mode"/,
    );
    expect(userErrorOfSync(() => parseCacheTo('type=local,dest=d,ref=x')).message).toMatch(/unknown option "ref"/);
    expect(userErrorOfSync(() => parseCacheTo('type=registry,ref=r,compression=lz4')).message).toMatch(
      /unknown compression "lz4"/,
    );
    expect(userErrorOfSync(() => parseCacheTo('type=registry,"ref=r')).message).toMatch(/unterminated quote/);
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
    expect(userErrorOfSync(() => parseCacheFrom('type=local,dest=/c')).message).toMatch(/unknown option "dest"/);
    expect(userErrorOfSync(() => parseCacheFrom('type=local')).message).toMatch(/needs src=/);
    expect(userErrorOfSync(() => parseCacheFrom('type=local,src=c,digest=sha256:12')).message).toMatch(
      /digest must be/,
    );
    expect(userErrorOfSync(() => parseCacheFrom(' ')).message).toMatch(/needs a value/);
  });
});
