import type { LayerCompression } from '../image/layer-compression.js';

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
];
