import { resolve } from 'node:path';
import { nearest, UserError } from '../errors.js';
import type { Entitlements } from '../pipeline/build-request.js';

const NAMES = ['security.insecure', 'network.host', 'fs.read', 'device'] as const;

/**
 * `--allow` as buildx spells its entitlements: `security.insecure` (RUN --security=insecure),
 * `network.host` (accepted: host networking is tsbuild's default, as BuildKit's standalone worker),
 * `fs.read=DIR` (a host directory outside the context the Dockerfile may read, e.g. an
 * `oci-layout://` base). Repeatable; `a,b` lists are split.
 */
export function parseAllow(values: string[]): Entitlements {
  const out: Entitlements = { securityInsecure: false, networkHost: false, fsRead: [] };
  for (const item of values
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? undefined : item.slice(eq + 1);
    if (name === 'security.insecure' && value === undefined) out.securityInsecure = true;
    else if (name === 'network.host' && value === undefined) out.networkHost = true;
    // buildx's `device[=NAME]`: accepted, as RUN --device gives a step a CDI device's environment only
    else if (name === 'device') continue;
    else if (name === 'fs.read' && value) out.fsRead.push(resolve(value));
    else if (name === 'fs.read') throw new UserError(`--allow fs.read needs a directory: --allow fs.read=DIR`);
    else {
      const guess = nearest(name, NAMES);
      throw new UserError(`unknown entitlement "${item}" in --allow${guess ? ` (did you mean "${guess}"?)` : ''}`, {
        hint: 'tsbuild allows: security.insecure, network.host, fs.read=DIR, device',
      });
    }
  }
  return out;
}
