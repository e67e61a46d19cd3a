import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { BlobSources } from '../registry/blob-sources.js';
import type { RegistryClient } from '../registry/client.js';
import { collect } from './build-command.js';

/** `--insecure-registry` and `--registry-ca`, as the build takes them. */
export interface RegistryFlags {
  insecureRegistry: string[];
  registryCa: string[];
}

/** The build's registry flags on `pull` and `push`: a loopback registry needs neither to be spoken to over plain HTTP. */
export function withRegistryOptions(cmd: Command): Command {
  return cmd
    .option(
      '--insecure-registry <host>',
      'a registry that may use plain HTTP or a certificate that is not checked (repeatable)',
      collect,
      [] as string[],
    )
    .option(
      '--registry-ca <file>',
      'trust this CA certificate (PEM) for registries, besides the system ones and SSL_CERT_FILE (repeatable)',
      collect,
      [] as string[],
    );
}

/** The registry client and blob sources a build would use, made from the flags (docker's config.json gives credentials). */
export async function registryFromFlags(
  flags: RegistryFlags,
  stateRoot: string,
): Promise<{ client: RegistryClient; sources: BlobSources }> {
  const { createRegistryClient, blobSources } = await import('../registry/registry-setup.js');
  const client = createRegistryClient({
    insecureHosts: flags.insecureRegistry,
    caFiles: flags.registryCa.map((f) => resolve(f)),
  });
  return { client, sources: blobSources(stateRoot) };
}
