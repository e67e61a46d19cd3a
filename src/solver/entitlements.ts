/**
 * What a build needs beyond the default sandbox, checked against what `--allow` grants before
 * anything runs, as BuildKit validates a definition's entitlements before solving it.
 */
import { UserError } from '../errors.js';
import type { Vertex } from './graph.js';

export interface Granted {
  securityInsecure: boolean;
}

export function checkEntitlements(target: Vertex, granted: Granted | undefined): void {
  const seen = new Set<Vertex>();
  const stack = [target];
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (v.op.type === 'exec' && v.op.security === 'insecure' && !granted?.securityInsecure) {
      // BuildKit's words: "security.insecure is not allowed"
      throw new UserError('security.insecure is not allowed', {
        ...(v.location ? { location: v.location } : {}),
        hint: 'RUN --security=insecure runs without seccomp and with every capability: pass --allow security.insecure to grant it',
      });
    }
    stack.push(...v.inputs);
  }
}
