import { nearest, UserError } from '../errors.js';
import type { CacheExportSpec, CacheImportSpec } from '../pipeline/build-request.js';
import { LAYER_COMPRESSIONS, type LayerCompression } from '../image/layer-compression.js';
import { flagBool, flagFields } from './flag-fields.js';

const TO_HINT = 'e.g. --cache-to type=registry,ref=REG/app:buildcache,mode=max or --cache-to type=local,dest=DIR';
const FROM_HINT = 'e.g. --cache-from type=registry,ref=REG/app:buildcache or --cache-from type=local,src=DIR';

/** buildx's keys for each cache type; `image-manifest` and `oci-mediatypes` describe what tsbuild always writes. */
const TO_KEYS: Record<CacheExportSpec['type'], readonly string[]> = {
  registry: ['ref', 'mode', 'ignore-error', 'compression', 'image-manifest', 'oci-mediatypes', 'registry.insecure'],
  local: ['dest', 'tag', 'mode', 'ignore-error', 'compression', 'image-manifest', 'oci-mediatypes'],
};
const FROM_KEYS: Record<CacheImportSpec['type'], readonly string[]> = {
  registry: ['ref', 'registry.insecure'],
  local: ['src', 'tag', 'digest'],
};

function checkKeys(
  flag: string,
  spec: string,
  type: string,
  fields: Map<string, string>,
  allowed: readonly string[],
): void {
  for (const key of fields.keys()) {
    if (key === 'type' || allowed.includes(key)) continue;
    const guess = nearest(key, allowed);
    throw new UserError(`unknown option "${key}" in ${flag} "${spec}"${guess ? ` (did you mean "${guess}"?)` : ''}`, {
      hint: `type=${type} takes: ${allowed.join(', ')}`,
    });
  }
}

function required(flag: string, spec: string, fields: Map<string, string>, key: string, hint: string): string {
  const v = fields.get(key);
  if (!v) throw new UserError(`${flag} "${spec}" needs ${key}=`, { hint });
  return v;
}

function typeOf(flag: string, spec: string, fields: Map<string, string>, hint: string): 'registry' | 'local' {
  const type = fields.get('type') ?? 'registry';
  if (type === 'registry' || type === 'local') return type;
  const other = ['inline', 'gha', 's3', 'azblob'].includes(type) ? ' (not supported by tsbuild)' : '';
  throw new UserError(`unsupported cache type "${type}"${other} in ${flag} "${spec}"`, {
    hint: `supported: registry, local; ${hint}`,
  });
}

/** `--cache-to type=registry,ref=R[,mode=min|max]` or `type=local,dest=DIR[,tag=T]`; mode defaults to max. */
export function parseCacheTo(spec: string): CacheExportSpec {
  const flag = '--cache-to';
  if (!spec.includes('='))
    return {
      type: 'registry',
      ref: required(flag, spec, new Map([['ref', spec.trim()]]), 'ref', TO_HINT),
      mode: 'max',
      ignoreError: false,
    };
  const fields = flagFields(flag, spec, TO_HINT);
  const type = typeOf(flag, spec, fields, TO_HINT);
  checkKeys(flag, spec, type, fields, TO_KEYS[type]);
  const mode = fields.get('mode') ?? 'max';
  if (mode !== 'min' && mode !== 'max')
    throw new UserError(`${flag} "${spec}": mode must be min or max, not "${mode}"`);
  for (const key of ['image-manifest', 'oci-mediatypes']) {
    if (fields.has(key) && !flagBool(flag, spec, key, fields.get(key)!)) {
      throw new UserError(
        `${flag} "${spec}": tsbuild always writes the cache as an OCI image manifest; ${key}=false is not supported`,
      );
    }
  }
  const ignoreError = fields.has('ignore-error')
    ? flagBool(flag, spec, 'ignore-error', fields.get('ignore-error')!)
    : false;
  let compression: LayerCompression | undefined;
  const c = fields.get('compression');
  if (c !== undefined) {
    if (!LAYER_COMPRESSIONS.includes(c as LayerCompression))
      throw new UserError(`${flag} "${spec}": unknown compression "${c}"`, {
        hint: `one of: ${LAYER_COMPRESSIONS.join(', ')}`,
      });
    compression = c as LayerCompression;
  }
  const extra = compression ? { compression } : {};
  if (type === 'local') {
    return {
      type,
      dest: required(flag, spec, fields, 'dest', TO_HINT),
      tag: fields.get('tag') || 'latest',
      mode,
      ignoreError,
      ...extra,
    };
  }
  const insecure =
    fields.has('registry.insecure') && flagBool(flag, spec, 'registry.insecure', fields.get('registry.insecure')!);
  return {
    type,
    ref: required(flag, spec, fields, 'ref', TO_HINT),
    mode,
    ignoreError,
    ...extra,
    ...(insecure ? { insecure } : {}),
  };
}

/** `--cache-from type=registry,ref=R`, `type=local,src=DIR[,tag=T]`, or a bare reference. */
export function parseCacheFrom(spec: string): CacheImportSpec {
  const flag = '--cache-from';
  if (!spec.includes('=')) {
    if (!spec.trim()) throw new UserError(`${flag} needs a value`, { hint: FROM_HINT });
    return { type: 'registry', ref: spec.trim() };
  }
  const fields = flagFields(flag, spec, FROM_HINT);
  const type = typeOf(flag, spec, fields, FROM_HINT);
  checkKeys(flag, spec, type, fields, FROM_KEYS[type]);
  if (type === 'local') {
    const digest = fields.get('digest');
    if (digest !== undefined && !/^sha256:[a-f0-9]{64}$/.test(digest))
      throw new UserError(`${flag} "${spec}": digest must be sha256:<64 hex digits>`);
    return {
      type,
      src: required(flag, spec, fields, 'src', FROM_HINT),
      tag: digest ?? (fields.get('tag') || 'latest'),
    };
  }
  const insecure =
    fields.has('registry.insecure') && flagBool(flag, spec, 'registry.insecure', fields.get('registry.insecure')!);
  return { type, ref: required(flag, spec, fields, 'ref', FROM_HINT), ...(insecure ? { insecure } : {}) };
}
