/**
 * `--build-context NAME=VALUE` as buildx reads it: VALUE is `docker-image://REF`,
 * `oci-layout://DIR[:TAG|@DIGEST]`, a git repository or http(s) URL, or a local directory
 * (relative to the working directory). NAME is keyed as BuildKit looks it up.
 */
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import { checkedContextKey } from '../frontend/named-contexts.js';
import type { NamedContextSpec } from '../pipeline/build-request.js';
import { parseOciLayoutRef } from '../registry/oci-layout.js';
import { parseReference } from '../registry/reference.js';
import { classifyContext } from '../sources/context-arg.js';

export function parseBuildContexts(values: string[], cwd: string = process.cwd()): Map<string, NamedContextSpec> {
  const out = new Map<string, NamedContextSpec>();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq < 0) throw new UserError(`invalid context value: ${v}, expected key=value`);
    const name = v.slice(0, eq);
    const value = v.slice(eq + 1);
    out.set(checkedContextKey(name), contextValue(name, value, cwd));
  }
  return out;
}

function contextValue(name: string, value: string, cwd: string): NamedContextSpec {
  if (value.startsWith('docker-image://')) {
    const ref = value.slice('docker-image://'.length);
    if (ref !== 'scratch') parseReference(ref);
    return { kind: 'image', ref };
  }
  if (value.startsWith('oci-layout://')) {
    const parsed = parseOciLayoutRef(value);
    const dir = resolve(cwd, parsed.dir);
    const tag = parsed.tag === undefined ? '' : parsed.tag.startsWith('sha256:') ? `@${parsed.tag}` : `:${parsed.tag}`;
    return { kind: 'oci-layout', dir, ref: `oci-layout://${dir}${tag}` };
  }
  if (value.startsWith('target:')) {
    throw new UserError(`--build-context ${name}=${value}: target: contexts name bake targets`, {
      hint: 'tsbuild builds one Dockerfile: use a stage of it, or build the other image first and name it with docker-image:// or oci-layout://',
    });
  }
  const form = value === '-' ? undefined : classifyContext(value, cwd);
  if (form?.kind === 'dir') return { kind: 'dir', dir: form.dir };
  if (form?.kind === 'git') return { kind: 'git', value };
  if (form?.kind === 'url') return { kind: 'url', value };
  throw new UserError(`failed to get build context ${name}: ${value} is not a directory`, {
    hint: 'a named context is a directory, docker-image://REF, oci-layout://DIR[:TAG], a git URL or an http(s) URL',
  });
}
