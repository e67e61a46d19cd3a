import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { UserError } from '../errors.js';

/**
 * The CAs a registry's certificate may chain to. Node trusts its own Mozilla bundle plus
 * NODE_EXTRA_CA_CERTS by itself; tsbuild adds `SSL_CERT_FILE` (the variable OpenSSL and Go read,
 * so one setting serves docker, skopeo, buildkit and tsbuild alike) and every `--registry-ca
 * FILE`. They are added to the bundle, never instead of it, so public registries keep working.
 * Undefined when there is nothing to add: node's defaults apply.
 */
export function trustedCas(caFiles: string[], env: NodeJS.ProcessEnv): string[] | undefined {
  const files = [...(env.SSL_CERT_FILE ? [{ path: env.SSL_CERT_FILE, from: 'SSL_CERT_FILE' }] : []), ...caFiles.map((path) => ({ path, from: '--registry-ca' }))];
  if (files.length === 0) return undefined;
  // Passing `ca` replaces node's store, NODE_EXTRA_CA_CERTS included, so both are put back.
  const cas = [...rootCertificates];
  if (env.NODE_EXTRA_CA_CERTS) files.unshift({ path: env.NODE_EXTRA_CA_CERTS, from: 'NODE_EXTRA_CA_CERTS' });
  for (const f of files) {
    let pem: string;
    try {
      pem = readFileSync(f.path, 'utf8');
    } catch (err) {
      throw new UserError(`cannot read the CA certificates ${f.path} (${f.from}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
    if (!certs) throw new UserError(`${f.path} (${f.from}) holds no PEM certificate`);
    cas.push(...certs);
  }
  return cas;
}
