import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { UserError } from '../errors.js';
import type { Volume } from '../pipeline/run-stored-image.js';

/**
 * `-e K=V` as docker reads it: `K=V` as given, `K` alone takes K's value from this environment,
 * or (K unset) stays bare, which removes K from the image's environment.
 */
export function parseEnvOption(spec: string, env: NodeJS.ProcessEnv = process.env): string {
  const eq = spec.indexOf('=');
  const name = eq < 0 ? spec : spec.slice(0, eq);
  if (name === '') throw new UserError(`invalid environment variable: ${spec}`, { hint: 'use -e NAME=VALUE' });
  if (eq >= 0) return spec;
  const value = env[name];
  return value === undefined ? name : `${name}=${value}`;
}

/**
 * An `--env-file` as docker reads it: one `K=V` or `K` per line (the value as written, quotes
 * and trailing spaces kept), blank lines and lines starting with `#` skipped.
 */
export function parseEnvFile(text: string, file: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const name = eq < 0 ? line : line.slice(0, eq);
    if (/\s/.test(name))
      throw new UserError(`${file}:${i + 1}: variable '${name}' contains whitespaces`, {
        hint: 'write NAME=VALUE, one per line',
      });
    out.push(parseEnvOption(line, env));
  });
  return out;
}

export async function readEnvFile(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch((err: unknown) => {
    throw new UserError(`--env-file ${file}: ${(err as Error).message}`, { cause: err });
  });
  return parseEnvFile(text, file);
}

/**
 * `-v HOST:CTR[:ro|rw]`: a bind mount of an existing absolute host path. tsbuild has no named
 * volumes, and a relative host path is refused as docker refuses it.
 */
export function parseVolume(spec: string): Volume {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === ''))
    throw new UserError(`invalid volume specification: '${spec}'`, { hint: 'use -v /host/path:/container/path[:ro]' });
  const [source, target, mode = 'rw'] = parts as [string, string, string?];
  if (!isAbsolute(source))
    throw new UserError(`invalid volume specification: '${spec}': the host path must be absolute`, {
      hint: `tsbuild has no named volumes and takes no relative paths: use an absolute path, e.g. "$PWD/${source.replace(/^\.\//, '')}"`,
    });
  if (!isAbsolute(target))
    throw new UserError(`invalid volume specification: '${spec}': the container path must be absolute`);
  if (mode !== 'ro' && mode !== 'rw')
    throw new UserError(`invalid volume specification: '${spec}': unknown mode ${mode}`, { hint: 'use ro or rw' });
  if (!existsSync(source))
    throw new UserError(`invalid volume specification: '${spec}': ${source} does not exist`, {
      hint: 'create the host path first: tsbuild binds only paths that exist',
    });
  return { source, target, readonly: mode === 'ro' };
}

/** `--network`: docker's default bridge does not exist here; host (the default) or none. */
export function parseNetwork(mode: string): 'host' | 'none' {
  if (mode === 'host' || mode === 'none') return mode;
  throw new UserError(`--network ${mode}: tsbuild run supports host (the default) and none`, {
    hint:
      mode === 'bridge' || mode === 'default'
        ? 'tsbuild has no bridge network: the container shares the host network unless --network none isolates it'
        : 'use --network host or --network none',
  });
}

/** `-w`: docker requires an absolute path. */
export function parseWorkdir(dir: string): string {
  if (!dir.startsWith('/'))
    throw new UserError(`the working directory '${dir}' is invalid, it needs to be an absolute path`);
  return dir;
}

/** `--name`: docker's rule for container names. */
export function parseContainerName(name: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name))
    throw new UserError(`invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name;
}
