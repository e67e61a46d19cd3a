import { describe, expect, test } from 'vitest';
import { parseWwwAuthenticate } from './auth.js';

describe('parseWwwAuthenticate', () => {
  test('Docker Hub bearer challenge, scope with commas inside quotes', () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/busybox:pull,push',
        },
      },
    ]);
  });

  test('basic challenge, unquoted values and spaces', () => {
    expect(parseWwwAuthenticate('Basic realm=registry , charset = "UTF-8"')).toEqual([
      { scheme: 'basic', params: { realm: 'registry', charset: 'UTF-8' } },
    ]);
  });

  test('several challenges joined by fetch', () => {
    expect(parseWwwAuthenticate('Basic realm="a", Bearer realm="https://t/x",service=s')).toEqual([
      { scheme: 'basic', params: { realm: 'a' } },
      { scheme: 'bearer', params: { realm: 'https://t/x', service: 's' } },
    ]);
  });

  test('escaped quotes', () => {
    expect(parseWwwAuthenticate('Bearer realm="a\\"b"')).toEqual([{ scheme: 'bearer', params: { realm: 'a"b' } }]);
  });

  test('a bare scheme', () => {
    expect(parseWwwAuthenticate('Bearer')).toEqual([{ scheme: 'bearer', params: {} }]);
  });
});
