import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { checkEntitlements } from './entitlements.js';
import type { ExecOp, Vertex } from './graph.js';

const base: Vertex = { id: 'v0', op: { type: 'scratch' }, inputs: [], name: 'scratch', stage: '' };
const run = (security: ExecOp['security'], input: Vertex, line: number): Vertex => ({
  id: `v${line}`,
  inputs: [input],
  name: `RUN ${line}`,
  stage: '0',
  location: { file: 'Dockerfile', line, column: 1 },
  op: { type: 'exec', args: ['true'], env: [], cwd: '/', user: '', network: 'host', ...(security ? { security } : {}) },
});

describe('checkEntitlements', () => {
  it('lets a sandboxed graph through with nothing granted', () => {
    expect(() => checkEntitlements(run(undefined, run(undefined, base, 2), 3), undefined)).not.toThrow();
  });

  it('refuses RUN --security=insecure anywhere in the graph without security.insecure, at its line', () => {
    const target = run(undefined, run('insecure', base, 2), 3);
    let err: unknown;
    try {
      checkEntitlements(target, { securityInsecure: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe('security.insecure is not allowed');
    expect((err as UserError).location?.line).toBe(2);
    expect(() => checkEntitlements(target, undefined)).toThrow(UserError);
    expect(() => checkEntitlements(target, { securityInsecure: true })).not.toThrow();
  });
});
