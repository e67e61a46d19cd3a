import { BlobSources } from './blob-sources.js';
import { RegistryClient } from './client.js';
import { dockerConfigCredentials } from './docker-config.js';
import { StatePaths } from '../store/state-paths.js';

/**
 * The one registry client of a build (pulls and pushes share its tokens and what it learnt
 * about each registry's scheme): `insecureHosts` may use plain HTTP and unchecked TLS, `caFiles`
 * are extra CA certificates, and docker's config.json gives the credentials.
 */
export function createRegistryClient(opts: { insecureHosts: string[]; caFiles: string[] }): RegistryClient {
  return new RegistryClient({
    insecureHosts: opts.insecureHosts,
    caFiles: opts.caFiles,
    credentials: dockerConfigCredentials(),
  });
}

/** Where blobs were seen in registries, for cross-repository mounts on push. */
export function blobSources(stateRoot: string): BlobSources {
  return new BlobSources(new StatePaths(stateRoot).blobSources);
}
