import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustedCas } from './tls-trust.js';

let dir: string;
// Not a real certificate: trustedCas only reads PEM blocks, node parses them later.
const ours = '-----BEGIN CERTIFICATE-----\nTUlJQm91cnM=\n-----END CERTIFICATE-----';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-ca-'));
  // the system bundle, re-wrapped at another line length: the same certificates
  await writeFile(join(dir, 'system.pem'), rootCertificates.map((c) => c.replace(/\n(?!-)/g, '\r\n')).join('\n'));
  await writeFile(join(dir, 'ours.pem'), ours);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('trustedCas', () => {
  it("is node's default when nothing new is given, even if SSL_CERT_FILE is the system bundle", () => {
    expect(trustedCas([], {})).toBeUndefined();
    expect(
      trustedCas([], { SSL_CERT_FILE: join(dir, 'system.pem'), NODE_EXTRA_CA_CERTS: join(dir, 'system.pem') }),
    ).toBeUndefined();
  });

  it("adds new certificates to node's bundle, once each, keeping NODE_EXTRA_CA_CERTS", () => {
    const cas = trustedCas([join(dir, 'ours.pem'), join(dir, 'ours.pem')], { SSL_CERT_FILE: join(dir, 'system.pem') })!;
    expect(cas).toHaveLength(rootCertificates.length + 1);
    expect(cas.at(-1)).toBe(ours);
    const withExtra = trustedCas([], {
      SSL_CERT_FILE: join(dir, 'system.pem'),
      NODE_EXTRA_CA_CERTS: join(dir, 'ours.pem'),
    });
    // NODE_EXTRA_CA_CERTS alone is node's own business: nothing to add
    expect(withExtra).toBeUndefined();
  });

  it('adds NODE_EXTRA_CA_CERTS handed over by bin/tsbuild, and skips it when unreadable, as node does', () => {
    expect(trustedCas([], { TSBUILD_EXTRA_CA_CERTS: join(dir, 'system.pem') })).toBeUndefined();
    const cas = trustedCas([], {
      TSBUILD_EXTRA_CA_CERTS: join(dir, 'ours.pem'),
      SSL_CERT_FILE: join(dir, 'system.pem'),
    })!;
    expect(cas).toHaveLength(rootCertificates.length + 1);
    expect(cas.at(-1)).toBe(ours);
    expect(trustedCas([], { TSBUILD_EXTRA_CA_CERTS: join(dir, 'missing.pem') })).toBeUndefined();
  });

  it('names an unreadable or empty file', () => {
    expect(() => trustedCas([join(dir, 'missing.pem')], {})).toThrow(
      /cannot read the CA certificates .*missing\.pem \(--registry-ca\): ENOENT/,
    );
  });
});
