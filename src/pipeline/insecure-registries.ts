import { parseReference } from '../registry/reference.js';
import { remoteCacheFor } from '../cache/remote/backends.js';
import type { BuildRequest } from './build-request.js';

/** The registries a build may reach over plain HTTP: `--insecure-registry`, and those of `registry.insecure=true` outputs and caches. */
export function insecureRegistryHosts(req: BuildRequest): string[] {
  const insecure = new Set(req.insecureRegistries ?? []);
  for (const out of req.outputs) {
    if (!out.insecure) continue;
    for (const name of out.names ?? req.tags) insecure.add(parseReference(name).registry);
  }
  for (const c of [...(req.cacheTo ?? []), ...(req.cacheFrom ?? [])]) {
    const host = remoteCacheFor(c.type)?.insecureRegistry?.(c);
    if (host) insecure.add(host);
  }
  return [...insecure];
}
