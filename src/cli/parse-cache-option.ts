import { REMOTE_CACHES, remoteCacheFor, UNSUPPORTED_CACHE_TYPES } from '../cache/remote/backends.js';
import { EXPORT_OPTION_KEYS, type FlagText } from '../cache/remote/remote-cache.js';
import { nearest, UserError } from '../errors.js';
import { LAYER_COMPRESSIONS, type LayerCompression } from '../image/layer-compression.js';
import type { CacheExportSpec, CacheImportSpec } from '../pipeline/build-request.js';
import { flagBool, flagFields } from './flag-fields.js';

type Flag = FlagText['flag'];

const hintOf = (flag: Flag): string =>
  `e.g. ${REMOTE_CACHES.map((b) => (flag === '--cache-to' ? b.toExample : b.fromExample)).join(' or ')}`;

function checkKeys(flag: Flag, spec: string, type: string, fields: Map<string, string>, allowed: readonly string[]) {
  for (const key of fields.keys()) {
    if (key === 'type' || allowed.includes(key)) continue;
    const guess = nearest(key, allowed);
    throw new UserError(`unknown option "${key}" in ${flag} "${spec}"${guess ? ` (did you mean "${guess}"?)` : ''}`, {
      hint: `type=${type} takes: ${allowed.join(', ')}`,
    });
  }
}

/** The fields of a spec and its backend; a bare value is a reference for the table's first backend. */
function backendFields(flag: Flag, spec: string) {
  const hint = hintOf(flag);
  const bare = !spec.includes('=');
  if (bare && !spec.trim()) throw new UserError(`${flag} needs a value`, { hint });
  const fields = bare ? new Map([['ref', spec.trim()]]) : flagFields(flag, spec, hint);
  const type = bare ? REMOTE_CACHES[0].type : (fields.get('type') ?? REMOTE_CACHES[0].type);
  const backend = remoteCacheFor(type);
  if (!backend) {
    const other = UNSUPPORTED_CACHE_TYPES.includes(type) ? ' (not supported by tsbuild)' : '';
    throw new UserError(`unsupported cache type "${type}"${other} in ${flag} "${spec}"`, {
      hint: `supported: ${REMOTE_CACHES.map((b) => b.type).join(', ')}; ${hint}`,
    });
  }
  const text: FlagText = {
    flag,
    spec,
    bool: (key) => flagBool(flag, spec, key, fields.get(key)!),
    required(key) {
      const v = fields.get(key);
      if (!v) throw new UserError(`${flag} "${spec}" needs ${key}=`, { hint });
      return v;
    },
  };
  return { fields, type, backend, text };
}

/** `--cache-to type=T,…`, checked against the backend table (src/cache/remote/backends.ts); mode defaults to max. */
export function parseCacheTo(spec: string): CacheExportSpec {
  const { fields, type, backend, text } = backendFields('--cache-to', spec);
  checkKeys(text.flag, spec, type, fields, [...backend.toKeys, ...EXPORT_OPTION_KEYS]);
  const mode = fields.get('mode') ?? 'max';
  if (mode !== 'min' && mode !== 'max')
    throw new UserError(`${text.flag} "${spec}": mode must be min or max, not "${mode}"`);
  for (const key of ['image-manifest', 'oci-mediatypes']) {
    if (fields.has(key) && !text.bool(key)) {
      throw new UserError(
        `${text.flag} "${spec}": tsbuild always writes the cache as an OCI image manifest; ${key}=false is not supported`,
      );
    }
  }
  const ignoreError = fields.has('ignore-error') ? text.bool('ignore-error') : false;
  let compression: LayerCompression | undefined;
  const c = fields.get('compression');
  if (c !== undefined) {
    if (!LAYER_COMPRESSIONS.includes(c as LayerCompression))
      throw new UserError(`${text.flag} "${spec}": unknown compression "${c}"`, {
        hint: `one of: ${LAYER_COMPRESSIONS.join(', ')}`,
      });
    compression = c as LayerCompression;
  }
  const location = backend.parseTo(fields, text);
  return { ...location, mode, ignoreError, ...(compression ? { compression } : {}) } as CacheExportSpec;
}

/** `--cache-from type=T,…`, or a bare reference, checked against the backend table. */
export function parseCacheFrom(spec: string): CacheImportSpec {
  const { fields, type, backend, text } = backendFields('--cache-from', spec);
  checkKeys(text.flag, spec, type, fields, backend.fromKeys);
  return backend.parseFrom(fields, text) as CacheImportSpec;
}
