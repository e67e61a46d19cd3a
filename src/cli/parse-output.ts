import { UserError } from '../errors.js';
import type { Exporter } from '../exporter/exporter.js';
import { EXPORTERS, exporterOrAlias, exporterTypes } from '../exporter/exporters.js';
import { COMMON_OUTPUT_KEYS, type OutputSpec } from '../exporter/output-spec.js';
import { LAYER_COMPRESSIONS, levelRange, type LayerCompression } from '../image/layer-compression.js';
import { flagBool, flagFields } from './flag-fields.js';

const hintFor = (table: readonly Exporter[]): string => `e.g. ${table.map((e) => e.example).join(', ')}`;

/**
 * buildx's `--output` grammar: a CSV record of key=value fields (quotes allow commas, as
 * `"name=a:1,b:1"`), or a bare path (`-o DIR`, a local export; `-o -`, a tar on stdout), checked
 * against the exporter table (src/exporter/exporters.ts): its types, aliases and keys.
 */
export function parseOutput(spec: string, table: readonly Exporter[] = EXPORTERS): OutputSpec {
  const HINT = hintFor(table);
  if (!spec.includes('=')) {
    if (!spec.trim()) throw new UserError('--output needs a value', { hint: HINT });
    return spec.trim() === '-' ? { type: 'tar', dest: '-' } : { type: 'local', dest: spec.trim() };
  }
  const fields = flagFields('--output', spec, HINT);
  const type = fields.get('type') ?? '';
  const found = exporterOrAlias(type, table);
  if (!found) {
    throw new UserError(`unsupported output type "${type}" in --output "${spec}"`, {
      hint: `supported: ${exporterTypes(table).join(', ')}; ${HINT}`,
    });
  }
  const { exporter } = found;
  if (found.alias)
    exporter.aliases![found.alias]!(fields, spec, (key) => flagBool('--output', spec, key, fields.get(key)!));
  const t = exporter.type;
  for (const key of fields.keys()) {
    if (key !== 'type' && !exporter.keys.includes(key)) {
      throw new UserError(`unknown option "${key}" in --output "${spec}"`, {
        hint: `type=${t} takes: ${exporter.keys.join(', ')}`,
      });
    }
  }
  const out: OutputSpec = { type: t };
  const dest = fields.get('dest');
  // an exporter may do something else without dest (type=docker: into the local docker)
  if (exporter.dest) {
    if (dest) out.dest = dest;
    else if (!exporter.withoutDest)
      throw new UserError(
        `--output "${spec}" needs dest=${exporter.dest}${exporter.dest === 'DIR' ? '' : ' (or dest=- for stdout)'}`,
        { hint: HINT },
      );
  }
  for (const [key, value] of fields) {
    if (key !== 'type' && !COMMON_OUTPUT_KEYS.includes(key)) out.options = { ...out.options, [key]: value };
  }
  if (fields.has('tar')) {
    out.tar = flagBool('--output', spec, 'tar', fields.get('tar')!);
    if (!out.tar && dest === '-')
      throw new UserError(`--output "${spec}": tar=false writes a directory, which cannot go to stdout`);
  }
  exporter.validate?.(out, spec);
  const name = fields.get('name');
  if (name !== undefined)
    out.names = name
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
  if (fields.has('push')) out.push = flagBool('--output', spec, 'push', fields.get('push')!);
  if (fields.has('registry.insecure'))
    out.insecure = flagBool('--output', spec, 'registry.insecure', fields.get('registry.insecure')!);
  if (fields.has('force-compression'))
    out.forceCompression = flagBool('--output', spec, 'force-compression', fields.get('force-compression')!);
  if (fields.has('oci-mediatypes'))
    out.ociMediaTypes = flagBool('--output', spec, 'oci-mediatypes', fields.get('oci-mediatypes')!);
  const epoch = fields.get('source-date-epoch');
  if (epoch !== undefined) {
    if (epoch !== '' && (!/^\d+$/.test(epoch) || !Number.isSafeInteger(Number(epoch))))
      throw new UserError(
        `--output "${spec}": source-date-epoch must be a whole number of seconds since 1970, not "${epoch}"`,
      );
    out.sourceDateEpoch = epoch === '' ? null : Number(epoch);
  }
  if (fields.has('rewrite-timestamp'))
    out.rewriteTimestamp = flagBool('--output', spec, 'rewrite-timestamp', fields.get('rewrite-timestamp')!);
  const compression = fields.get('compression');
  if (compression !== undefined) {
    if (!LAYER_COMPRESSIONS.includes(compression as LayerCompression)) {
      throw new UserError(`--output "${spec}": unknown compression "${compression}"`, {
        hint: `one of: ${LAYER_COMPRESSIONS.join(', ')}`,
      });
    }
    out.compression = compression as LayerCompression;
  }
  const level = fields.get('compression-level');
  if (level !== undefined) {
    const c = out.compression ?? 'gzip';
    const range = levelRange(c);
    const n = Number(level);
    if (!range) throw new UserError(`--output "${spec}": compression=uncompressed takes no compression-level`);
    if (!/^-?\d+$/.test(level) || n < range[0] || n > range[1]) {
      throw new UserError(
        `--output "${spec}": compression-level for ${c} must be a whole number from ${range[0]} to ${range[1]}`,
      );
    }
    out.compressionLevel = n;
  }
  return out;
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

/**
 * SOURCE_DATE_EPOCH, from `--build-arg SOURCE_DATE_EPOCH=N` or the environment (as buildx passes it).
 * A build arg that is not a number may name a stage or `context`: the frontend resolves it.
 */
export function parseSourceDateEpoch(buildArgs: Map<string, string>, env: NodeJS.ProcessEnv): number | undefined {
  const arg = buildArgs.get('SOURCE_DATE_EPOCH');
  if (arg !== undefined && !/^\d+$/.test(arg)) return undefined;
  const raw = arg ?? env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new UserError(`SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, not "${raw}"`);
  }
  return Number(raw);
}
