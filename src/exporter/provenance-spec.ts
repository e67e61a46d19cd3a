/**
 * What `--provenance` / `--attest type=provenance` asked for (BuildKit's `attest:provenance`
 * parameters). Lives with the exporters: the CLI parses into it and the outputs act on it.
 */
export interface ProvenanceSpec {
  /** `min`: timestamps, frontend, materials; `max` adds build args, secret/ssh ids, the Dockerfile and the steps. */
  mode: 'min' | 'max';
  /** The SLSA predicate: BuildKit's default today is v1. */
  version: 'v0.2' | 'v1';
  /** `builder-id=`: the SLSA builder id (empty by default, as BuildKit's). */
  builderId?: string;
  /** `reproducible=true`: marks the build reproducible (BuildKit takes the user's word for it). */
  reproducible?: boolean;
  /** `filename=`: the file name for local and tar outputs (default provenance.json). */
  filename?: string;
  /** `inline-only=true`: only outputs that hold images get it (oci, image), not local or tar. */
  inlineOnly?: boolean;
}
