import type { LayerCompression } from '../image/layer-compression.js';
import { UserError } from '../errors.js';

/** One `-o`/`--output` as the CLI parsed it against the exporter table. */
export interface OutputSpec {
  /** The exporter's `type=` (an alias is already resolved: `type=registry` is `image` with push). */
  type: string;
  /** A file or directory path, or `-` for stdout; none for `image`. */
  dest?: string;
  /** oci: false writes a layout directory instead of a tar. */
  tar?: boolean;
  /** `name=`: the names for this output, instead of the -t names. */
  names?: string[];
  push?: boolean;
  /** `registry.insecure=true`: the names' registries may use plain HTTP and unchecked TLS. */
  insecure?: boolean;
  compression?: LayerCompression;
  compressionLevel?: number;
  forceCompression?: boolean;
  /** `oci-mediatypes=false`: Docker schema 2 media types (manifest list, manifest, config, layers). */
  ociMediaTypes?: boolean;
  /**
   * `source-date-epoch=N`: the build's SOURCE_DATE_EPOCH for the image, over the build arg and the
   * Dockerfile's ARG default; `source-date-epoch=` (empty) is null: the image gets none at all.
   */
  sourceDateEpoch?: number | null;
  /** `rewrite-timestamp=true`: layers re-dated to SOURCE_DATE_EPOCH say so (buildkit/rewritten-timestamp). */
  rewriteTimestamp?: boolean;
  /** Keys an exporter takes beyond the common ones above, as given: its own `validate` and `export` read them. */
  options?: Record<string, string>;
}

/** The keys `OutputSpec` has fields for; any other key an exporter takes lands in `options`. */
export const COMMON_OUTPUT_KEYS: readonly string[] = [
  'dest',
  'tar',
  'name',
  'push',
  'registry.insecure',
  'compression',
  'compression-level',
  'force-compression',
  'oci-mediatypes',
  'source-date-epoch',
  'rewrite-timestamp',
];

/**
 * The SOURCE_DATE_EPOCH the outputs' `source-date-epoch=` give the build: undefined when none
 * gives one, null when it is given empty (no epoch). The build has one epoch for all its outputs
 * (its layers are re-dated once), so outputs that disagree are refused.
 */
export function outputsSourceDateEpoch(outputs: readonly OutputSpec[]): number | null | undefined {
  const given = [...new Set(outputs.filter((o) => o.sourceDateEpoch !== undefined).map((o) => o.sourceDateEpoch))];
  if (given.length > 1)
    throw new UserError(
      `outputs give different source-date-epoch values (${given.map((e) => e ?? '""').join(', ')}): a build has one`,
    );
  return given[0];
}
