import { UserError } from '../errors.js';
import type { OutputSpec } from '../build/build-request.js';

/** buildx's `--output type=…,dest=…` grammar (CSV of key=value). */
export function parseOutput(spec: string): OutputSpec {
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      throw new UserError(`invalid --output "${spec}": "${part}" is not key=value`, { hint: 'use -o type=oci,dest=app.tar or -o type=docker,dest=app.tar' });
    }
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const type = fields.get('type');
  if (type !== 'oci' && type !== 'docker') {
    throw new UserError(`unsupported output type "${type ?? ''}" in --output "${spec}"`, {
      hint: 'supported: type=oci,dest=FILE (OCI image archive) and type=docker,dest=FILE (for docker load)',
    });
  }
  const dest = fields.get('dest');
  if (!dest) throw new UserError(`--output "${spec}" needs dest=FILE (or dest=- for stdout)`);
  for (const key of fields.keys()) {
    if (key !== 'type' && key !== 'dest' && key !== 'name') {
      throw new UserError(`unknown option "${key}" in --output "${spec}"`, { hint: 'known options: type, dest, name' });
    }
  }
  return { type, dest };
}

/** `--build-arg K=V`, or `--build-arg K` to take the value from the environment (skipped when unset). */
export function parseBuildArgs(values: string[], env: NodeJS.ProcessEnv): Map<string, string> {
  const args = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq === 0) throw new UserError(`invalid --build-arg "${v}": the name is empty`);
    if (eq > 0) args.set(v.slice(0, eq), v.slice(eq + 1));
    else if (env[v] !== undefined) args.set(v, env[v]!);
  }
  return args;
}
