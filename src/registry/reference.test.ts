import { describe, expect, test } from 'vitest';
import { UserError } from '../errors.js';
import { isInsecureRegistryHost, parseReference } from './reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  test.each([
    // input, registry, repository, tag, digest, toString, familiar
    ['busybox', 'docker.io', 'library/busybox', undefined, undefined, 'docker.io/library/busybox', 'busybox'],
    [
      'busybox:1.36',
      'docker.io',
      'library/busybox',
      '1.36',
      undefined,
      'docker.io/library/busybox:1.36',
      'busybox:1.36',
    ],
    ['library/busybox', 'docker.io', 'library/busybox', undefined, undefined, 'docker.io/library/busybox', 'busybox'],
    ['docker.io/busybox', 'docker.io', 'library/busybox', undefined, undefined, 'docker.io/library/busybox', 'busybox'],
    [
      'index.docker.io/library/busybox:x',
      'docker.io',
      'library/busybox',
      'x',
      undefined,
      'docker.io/library/busybox:x',
      'busybox:x',
    ],
    ['user/app', 'docker.io', 'user/app', undefined, undefined, 'docker.io/user/app', 'user/app'],
    [
      'docker.io/library/foo/bar',
      'docker.io',
      'library/foo/bar',
      undefined,
      undefined,
      'docker.io/library/foo/bar',
      'library/foo/bar',
    ],
    ['localhost/app', 'localhost', 'app', undefined, undefined, 'localhost/app', 'localhost/app'],
    ['localhost:5000/app:1', 'localhost:5000', 'app', '1', undefined, 'localhost:5000/app:1', 'localhost:5000/app:1'],
    ['myhost:5000/a/b/c', 'myhost:5000', 'a/b/c', undefined, undefined, 'myhost:5000/a/b/c', 'myhost:5000/a/b/c'],
    [
      'ghcr.io/org/img:v1.2-rc_3',
      'ghcr.io',
      'org/img',
      'v1.2-rc_3',
      undefined,
      'ghcr.io/org/img:v1.2-rc_3',
      'ghcr.io/org/img:v1.2-rc_3',
    ],
    [`busybox@${D}`, 'docker.io', 'library/busybox', undefined, D, `docker.io/library/busybox@${D}`, `busybox@${D}`],
    [
      `127.0.0.1:5000/test/bb:latest@${D}`,
      '127.0.0.1:5000',
      'test/bb',
      'latest',
      D,
      `127.0.0.1:5000/test/bb:latest@${D}`,
      `127.0.0.1:5000/test/bb:latest@${D}`,
    ],
    ['[::1]:5000/app', '[::1]:5000', 'app', undefined, undefined, '[::1]:5000/app', '[::1]:5000/app'],
    // an upper-case first component cannot be a repository path, so docker takes it as a host
    ['Foo/bar', 'Foo', 'bar', undefined, undefined, 'Foo/bar', 'Foo/bar'],
    ['a.b-c__d/e--f', 'a.b-c__d', 'e--f', undefined, undefined, 'a.b-c__d/e--f', 'a.b-c__d/e--f'],
    [
      'foo__bar.baz-qux',
      'docker.io',
      'library/foo__bar.baz-qux',
      undefined,
      undefined,
      'docker.io/library/foo__bar.baz-qux',
      'foo__bar.baz-qux',
    ],
  ])('%s', (input, registry, repository, tag, digest, full, familiar) => {
    const ref = parseReference(input);
    expect(ref.registry).toBe(registry);
    expect(ref.repository).toBe(repository);
    expect(ref.tag).toBe(tag);
    expect(ref.digest).toBe(digest);
    expect(ref.toString()).toBe(full);
    expect(ref.familiar()).toBe(familiar);
  });

  test.each([
    ['', /empty/],
    ['Busybox', /must be lowercase/],
    ['localhost:5000/App', /must be lowercase/],
    ['busybox:', /invalid reference format/],
    ['busybox:a:b', /invalid reference format/],
    ['busybox:-tag', /invalid reference format/],
    [`busybox:${'t'.repeat(129)}`, /invalid reference format/],
    ['a//b', /invalid reference format/],
    ['-abc', /invalid reference format/],
    ['abc-', /invalid reference format/],
    ['foo_-bar', /invalid reference format/],
    ['busybox@sha256:abc', /invalid reference format/],
    [`busybox@sha256:${'A'.repeat(64)}`, /64 lowercase hex/],
    [`busybox@sha512:${'a'.repeat(128)}`, /only sha256/],
    ['a'.repeat(64), /64-byte hexadecimal/],
    [`x/${'a'.repeat(260)}`, /more than 255/],
    ['busy box', /invalid reference format/],
  ])('rejects %j', (input, message) => {
    let err: unknown;
    try {
      parseReference(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(JSON.stringify(input));
  });

  test('withDefaultTag adds latest only when there is neither tag nor digest', () => {
    expect(parseReference('busybox').withDefaultTag().toString()).toBe('docker.io/library/busybox:latest');
    expect(parseReference('busybox:1').withDefaultTag().tag).toBe('1');
    expect(parseReference(`busybox@${D}`).withDefaultTag().tag).toBeUndefined();
  });

  test('manifestReference prefers the digest, then the tag, then latest', () => {
    expect(parseReference(`busybox:1@${D}`).manifestReference).toBe(D);
    expect(parseReference('busybox:1').manifestReference).toBe('1');
    expect(parseReference('busybox').manifestReference).toBe('latest');
  });
});

describe('isInsecureRegistryHost', () => {
  test.each([
    ['localhost', true],
    ['LOCALHOST:5000', true],
    ['127.0.0.1', true],
    ['127.1.2.3:5000', true],
    ['[::1]:5000', true],
    ['::1', true],
    ['[0:0:0:0:0:0:0:1]', true],
    ['[::ffff:127.0.0.1]:80', true],
    ['docker.io', false],
    ['10.0.0.1:5000', false],
    ['128.0.0.1', false],
    ['127.0.0.256', false],
    ['localhost.example.com', false],
    ['127.0.0.1.nip.io', false],
    ['[::2]:5000', false],
  ])('%s → %s', (host, expected) => {
    expect(isInsecureRegistryHost(host)).toBe(expected);
  });
});
