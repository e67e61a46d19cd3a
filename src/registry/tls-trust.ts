import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { UserError } from '../errors.js';

// node:tls is loaded only when a TLS context is made: a build that needs no registry skips it.
const load = createRequire(import.meta.url);

/**
 * The CAs a registry's certificate may chain to. Node trusts its own Mozilla bundle by itself,
 * plus NODE_EXTRA_CA_CERTS when it was started with it. bin/tsbuild hands that variable over as
 * TSBUILD_EXTRA_CA_CERTS instead (node would parse the file at start-up, on every command), so
 * its certificates are added here, as are `SSL_CERT_FILE` (the variable OpenSSL and Go read, so
 * one setting serves docker, skopeo, buildkit and tsbuild alike) and every `--registry-ca FILE`.
 * They are added to the bundle, never instead of it, so public registries keep working.
 *
 * Undefined when there is nothing to add: node's defaults apply. That is also the answer when
 * every certificate given is one node trusts already (SSL_CERT_FILE and NODE_EXTRA_CA_CERTS are
 * often the system bundle, the same Mozilla set): a `ca` list makes every TLS context parse all
 * of it again, ~0.1 s.
 */
export function trustedCas(caFiles: string[], env: NodeJS.ProcessEnv): string[] | undefined {
  const files = [
    ...(env.TSBUILD_EXTRA_CA_CERTS
      ? [{ path: env.TSBUILD_EXTRA_CA_CERTS, from: 'NODE_EXTRA_CA_CERTS', optional: true }]
      : []),
    ...(env.SSL_CERT_FILE ? [{ path: env.SSL_CERT_FILE, from: 'SSL_CERT_FILE', optional: false }] : []),
    ...caFiles.map((path) => ({ path, from: '--registry-ca', optional: false })),
  ];
  if (files.length === 0) return undefined;
  const { rootCertificates } = load('node:tls') as typeof import('node:tls');
  // Passing `ca` replaces node's store, NODE_EXTRA_CA_CERTS included, so both are put back.
  const defaults = [
    ...rootCertificates,
    ...(env.NODE_EXTRA_CA_CERTS ? readCerts(env.NODE_EXTRA_CA_CERTS, 'NODE_EXTRA_CA_CERTS') : []),
  ];
  const known = new Set(defaults.map(bodyOf));
  const added: string[] = [];
  for (const f of files) {
    for (const cert of readCerts(f.path, f.from, f.optional)) {
      const body = bodyOf(cert);
      if (known.has(body)) continue;
      known.add(body);
      added.push(cert);
    }
  }
  return added.length ? [...defaults, ...added] : undefined;
}

/** `optional`: an unreadable file is no certificates (node only warns about its NODE_EXTRA_CA_CERTS). */
function readCerts(path: string, from: string, optional = false): string[] {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    if (optional) return [];
    throw new UserError(
      `cannot read the CA certificates ${path} (${from}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!certs) throw new UserError(`${path} (${from}) holds no PEM certificate`);
  return certs;
}

/** A certificate's base64 body, whatever its line breaks: the same certificate compares equal. */
function bodyOf(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');
}
