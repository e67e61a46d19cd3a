/** Everything the CLI parsed, as the build pipeline takes it. */
export interface OutputSpec {
  type: 'oci' | 'docker';
  /** A file path, or `-` for stdout. */
  dest: string;
}

export type ProgressMode = 'auto' | 'plain' | 'tty' | 'json';

export interface BuildRequest {
  contextDir: string;
  /** Path of the Dockerfile, or undefined when `source` came from stdin. */
  dockerfilePath?: string;
  dockerfileSource?: string;
  tags: string[];
  buildArgs: Map<string, string>;
  target?: string;
  noCache: boolean;
  /** `--secret id=…,src=FILE|env=VAR`, for RUN --mount=type=secret. */
  secrets?: Map<string, { file?: string; env?: string }>;
  /** `--ssh id[=socket]`, for RUN --mount=type=ssh. */
  ssh?: Map<string, string>;
  outputs: OutputSpec[];
  progress: ProgressMode;
  stateRoot: string;
}

export interface BuildResult {
  manifestDigest: string;
  configDigest: string;
  /** Where the image went, for the summary line. */
  exported: string[];
  warnings: string[];
}
