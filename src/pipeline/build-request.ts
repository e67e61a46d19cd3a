import type { PlatformSpec } from '../registry/platform.js';
/** Everything the CLI parsed, as the build pipeline takes it. */
import type { ExportReport } from '../exporter/exporter.js';
import type { OutputSpec } from '../exporter/output-spec.js';
import type { ProvenanceSpec } from '../exporter/provenance-spec.js';
import type { FetchedContext } from '../sources/build-context.js';
import type { CacheExportSpec, CacheImportSpec } from '../cache/remote/backends.js';
import type { RunSettings } from '../frontend/build-plan.js';
import type { Ulimit } from '../solver/graph.js';
import type { StepResources } from '../executor/resources.js';

export type { OutputSpec, RunSettings, Ulimit };

/**
 * `--build-context NAME=VALUE`: an image (`docker-image://REF`; `scratch` is the empty image), an
 * OCI layout (`oci-layout://DIR[:TAG|@DIGEST]`, DIR absolute), or a directory (a local one as it
 * is, or a git repository or URL fetched into a scratch dir: `fetched`).
 */
export type NamedContextSpec =
  | { kind: 'image'; ref: string }
  | { kind: 'oci-layout'; ref: string; dir: string }
  | { kind: 'dir'; dir: string; fetched?: boolean /** the git or http(s) URL it was fetched from */; source?: string }
  | { kind: 'git' | 'url'; value: string };

/** `--annotation`, by where each goes (BuildKit's exporter types). */
export interface Annotations {
  manifest: Record<string, string>;
  index: Record<string, string>;
  manifestDescriptor: Record<string, string>;
  indexDescriptor: Record<string, string>;
  /** `manifest[PLATFORM]:`: for that platform's manifest only (keyed `linux/arm64`), over `manifest`. */
  manifestFor?: Record<string, Record<string, string>>;
  /** `manifest-descriptor[PLATFORM]:`, likewise. */
  manifestDescriptorFor?: Record<string, Record<string, string>>;
}

/**
 * `--cache-to` (`max` exports every step the build reached, `min` only the final image's) and
 * `--cache-from`, as their backends (src/cache/remote/) parsed them.
 */
export type { CacheExportSpec, CacheImportSpec };

/** `--allow`: what the build may do beyond the default sandbox (buildx's entitlements). */
export interface Entitlements {
  /** `security.insecure`: RUN --security=insecure runs without seccomp and with every capability. */
  securityInsecure: boolean;
  /** `network.host`: accepted for buildx compatibility (RUN uses the host network by default). */
  networkHost: boolean;
  /** `fs.read=DIR`: host directories outside the context that the Dockerfile may read (absolute). */
  fsRead: string[];
}

/** `--progress`: buildx's modes; `rawjson` is the json stream, `quiet` shows nothing. */
export type ProgressMode = 'auto' | 'plain' | 'tty' | 'json' | 'rawjson' | 'quiet';

export interface BuildRequest {
  contextDir: string;
  /**
   * Set when `contextDir` is a scratch copy of a context from stdin, git or a URL
   * (sources/build-context.ts): how messages name its Dockerfile, and the key its step history is
   * kept under (its stat cache is not kept: the files are new each time).
   */
  fetchedContext?: FetchedContext;
  /** Path of the Dockerfile, or undefined when `source` came from stdin. */
  dockerfilePath?: string;
  dockerfileSource?: string;
  tags: string[];
  buildArgs: Map<string, string>;
  target?: string;
  noCache: boolean;
  /** `--no-cache-filter`: stages whose steps run even when cached. */
  noCacheFilter?: string[];
  /** `--secret id=…,src=FILE|env=VAR`, for RUN --mount=type=secret. */
  secrets?: Map<string, { file?: string; env?: string }>;
  /** `--ssh id[=socket]`, for RUN --mount=type=ssh. */
  ssh?: Map<string, string>;
  outputs: OutputSpec[];
  /** `--push`: push the -t names (buildx's shorthand for type=registry). */
  push?: boolean;
  /** `--pull`: ask the registry again what each base image tag points at. */
  pull?: boolean;
  /** `--cache-to`, `--cache-from`. */
  cacheTo?: CacheExportSpec[];
  cacheFrom?: CacheImportSpec[];
  /** `--metadata-file`: where to write buildx's build metadata JSON. */
  metadataFile?: string;
  /** `--iidfile`: where to write the image ID (`sha256:<config digest>`), as docker build does. */
  iidFile?: string;
  /** `--insecure-registry`: registries that may use plain HTTP and unchecked TLS. */
  insecureRegistries?: string[];
  /** `--registry-ca`: extra CA certificates (PEM files) for registries. */
  registryCas?: string[];
  /** `--allow`; absent means none granted. */
  allow?: Entitlements;
  /** SOURCE_DATE_EPOCH: image timestamps and new files' mtimes, for reproducible images. */
  sourceDateEpoch?: number;
  progress: ProgressMode;
  stateRoot: string;
  /** `--build-context`, keyed by name as BuildKit looks it up (familiar form, without `:latest`). */
  namedContexts?: Map<string, NamedContextSpec>;
  /** `--platform`: the platforms to build, normalised, each once, in the order given; absent: the host's. */
  platforms?: PlatformSpec[];
  /** `--label`: set on the image's config after the Dockerfile's LABELs (buildx). */
  labels?: Record<string, string>;
  /** `--annotation`. */
  annotations?: Annotations;
  /** `--network`, `--add-host`, `--shm-size`, `--ulimit`: for every RUN; absent when none was given. */
  runSettings?: RunSettings;
  /** `--memory`, `--cpus`, `--cgroup-parent`, …: limits of every RUN's cgroup (no part of any cache key). */
  resources?: StepResources;
  /** `chroot`: no mounts and no namespaces (isolation chroot); runc and rootless need nothing here. */
  isolation?: 'chroot';
  /** `--call` / `--check`: run a frontend request instead of building (nothing is built or exported). */
  call?: FrontendCall;
  /** `--provenance` / `--attest type=provenance`: a SLSA provenance attestation per platform image. */
  provenance?: ProvenanceSpec;
}

/** `--call=NAME[,format=json]` (buildx); `build` is an ordinary build and is not one. */
export interface FrontendCall {
  name: 'check' | 'outline' | 'targets';
  format: 'text' | 'json';
}

export interface BuildResult {
  manifestDigest: string;
  configDigest: string;
  /** Where the image went, for the closing summary (each printed by its exporter). */
  exported: ExportReport[];
  warnings: string[];
  /** For a `--call` request: what to print on stdout, and the exit code (1 when a check fired). */
  call?: { output: string; exitCode: number; error?: string };
}
