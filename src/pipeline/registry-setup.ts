import { join } from 'node:path';
import { BlobSources } from '../registry/blob-sources.js';
import { RegistryClient } from '../registry/client.js';
import { dockerConfigCredentials } from '../registry/docker-config.js';
import { parseReference } from '../registry/reference.js';
import type { BuildRequest } from './build-request.js';

/**
 * The one registry client of a build (pulls and pushes share its tokens and what it learnt
 * about each registry's scheme), set up from the request: `--insecure-registry`,
 * `registry.insecure=true` outputs, `--registry-ca`, and docker's config.json for credentials.
 */
export function createRegistryClient(req: BuildRequest): RegistryClient {
  const insecure = new Set(req.insecureRegistries ?? []);
  for (const out of req.outputs) {
    if (!out.insecure) continue;
    for (const name of out.names ?? req.tags) insecure.add(parseReference(name).registry);
  }
  for (const c of [...(req.cacheTo ?? []), ...(req.cacheFrom ?? [])]) {
    if (c.type === 'registry' && c.insecure) insecure.add(parseReference(c.ref).registry);
  }
  return new RegistryClient({
    insecureHosts: [...insecure],
    caFiles: req.registryCas ?? [],
    credentials: dockerConfigCredentials(),
  });
}

/** Where blobs were seen in registries, for cross-repository mounts on push. */
export function blobSources(stateRoot: string): BlobSources {
  return new BlobSources(join(stateRoot, 'blob-sources'));
}
