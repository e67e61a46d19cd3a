import { splitCsv } from '../csv.js';
import { UsageError } from '../errors.js';
import type { ProvenanceSpec } from '../exporter/provenance-spec.js';

const BOOL_TRUE = new Set(['true', '1', 't', 'T', 'TRUE', 'True']);
const BOOL_FALSE = new Set(['false', '0', 'f', 'F', 'FALSE', 'False']);

/**
 * `--provenance` and `--attest` as buildx reads them: `--provenance=true|false` or its options
 * (`mode=min|max,version=v0.2|v1,…`), `--attest type=provenance,…` the same; the last one given
 * wins, `disabled=true` (or `--provenance=false`) turns it off. buildx's `--provenance=true` asks
 * for `mode=min` (buildx sets it), a bare `--attest type=provenance` for BuildKit's default, `max`.
 * `type=sbom` is refused: tsbuild has no SBOM scanner. Undefined: no provenance (the default).
 */
export function parseAttestations(
  provenance: string | undefined,
  attest: readonly string[],
): ProvenanceSpec | undefined {
  let spec: ProvenanceSpec | undefined;
  const entries: { flag: string; fields: string[]; implicitMode?: 'min' }[] = attest.map((a) => ({
    flag: `--attest ${a}`,
    fields: splitCsv(a),
  }));
  for (const e of entries) {
    const type = e.fields.find((f) => f.startsWith('type='))?.slice(5);
    if (type === 'sbom')
      throw new UsageError(`${e.flag}: tsbuild makes no SBOM attestations (it has no SBOM scanner)`, {
        hint: 'leave out --attest type=sbom (and --sbom); --attest type=provenance is supported',
      });
    if (type !== 'provenance')
      throw new UsageError(`${e.flag}: ${type ? `attestation type "${type}" is unknown` : 'type= is required'}`, {
        hint: 'use --attest type=provenance[,mode=min|max][,version=v0.2|v1]',
      });
    spec = applyFields(
      e.flag,
      e.fields.filter((f) => !f.startsWith('type=')),
      'max',
    );
  }
  if (provenance !== undefined) {
    const flag = `--provenance=${provenance}`;
    if (BOOL_FALSE.has(provenance)) return undefined;
    spec =
      BOOL_TRUE.has(provenance) || provenance === ''
        ? applyFields(flag, [], 'min')
        : applyFields(flag, splitCsv(provenance), 'min');
  }
  return spec;
}

function applyFields(flag: string, fields: string[], defaultMode: 'min' | 'max'): ProvenanceSpec | undefined {
  const spec: ProvenanceSpec = { mode: defaultMode, version: 'v1' };
  const bool = (key: string, v: string): boolean => {
    if (BOOL_TRUE.has(v)) return true;
    if (BOOL_FALSE.has(v)) return false;
    throw new UsageError(`${flag}: ${key}=${v} is not a boolean`);
  };
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim();
    const value = eq < 0 ? '' : field.slice(eq + 1).trim();
    if (key === '') continue;
    switch (key) {
      case 'mode':
        if (value !== 'min' && value !== 'max')
          throw new UsageError(`${flag}: mode=${value} is not a provenance mode`, { hint: 'mode=min or mode=max' });
        spec.mode = value;
        break;
      case 'version':
        if (value !== 'v0.2' && value !== 'v1')
          throw new UsageError(`${flag}: version=${value} is not a SLSA provenance version`, {
            hint: 'version=v1 (the default) or version=v0.2',
          });
        spec.version = value;
        break;
      case 'disabled':
        if (bool(key, value)) return undefined;
        break;
      case 'builder-id':
        spec.builderId = value;
        break;
      case 'reproducible':
        spec.reproducible = bool(key, value);
        break;
      case 'filename':
        if (value === '' || value.includes('/'))
          throw new UsageError(`${flag}: filename=${value} must be a plain file name`);
        spec.filename = value;
        break;
      case 'inline-only':
        spec.inlineOnly = bool(key, value);
        break;
      default:
        throw new UsageError(`${flag}: unknown provenance option "${key}"`, {
          hint: 'options: mode, version, builder-id, reproducible, filename, inline-only, disabled',
        });
    }
  }
  return spec;
}
