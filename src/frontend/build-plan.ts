import type { ContainerConfig, HistoryEntry } from '../image/types.js';
import type { PlatformSpec } from '../registry/platform.js';
import type { Ulimit, Vertex } from '../solver/graph.js';
import type { ContextIgnore } from './checks/copy-ignored-file.js';
import type { Warning } from './instruction-types.js';

/** What the frontend hands on: the vertex whose result is the image, and its config. */
export interface BuildPlan {
  target: Vertex;
  /** The final image's config, everything but rootfs (the exporter adds layers). */
  image: {
    architecture: string;
    os: string;
    variant?: string;
    config: ContainerConfig;
    /** Base history followed by one entry per instruction; `empty_layer` marks those with no layer. */
    history: HistoryEntry[];
  };
  /** Names of every stage the target needs, for display. */
  stages: string[];
  warnings: Warning[];
  /** SOURCE_DATE_EPOCH the Dockerfile gives (`ARG SOURCE_DATE_EPOCH=…` before the first FROM, or --build-arg). */
  sourceDateEpoch?: number;
}

/** What the frontend needs to know about a base image to dispatch a stage on it. */
export interface ResolvedBase {
  /** The op-level description the solver uses to get its layers. */
  vertexOp: import('../solver/graph.js').ImageSourceOp;
  architecture: string;
  os: string;
  variant?: string;
  config: ContainerConfig;
  history: HistoryEntry[];
}

/** Resolves `FROM <image>` references (registry or oci-layout://) to their config and layers, for `platform` (absent: the host's). */
export type BaseImageResolver = (
  ref: string,
  location: Warning['location'],
  platform?: PlatformSpec,
) => Promise<ResolvedBase>;

export interface FrontendOptions {
  /** The Dockerfile's display name, for errors. */
  file: string;
  source: string;
  buildArgs: Map<string, string>;
  target?: string;
  resolveImage: BaseImageResolver;
  /** Stages whose steps skip the cache (--no-cache-filter); `*` for all. */
  noCacheStages?: Set<string>;
  noCache?: boolean;
  /** `--check` without `--target`: convert every stage, so every stage is checked. */
  allStages?: boolean;
  /** Where warnings go (the plan's list); given by a caller that wants them even when conversion fails. */
  warnings?: Warning[];
  /** The context's .dockerignore, for the CopyIgnoredFile check. */
  contextIgnore?: ContextIgnore;
  /** `--build-context`, keyed as BuildKit looks names up (familiar form, without `:latest`). */
  namedContexts?: Map<string, NamedContext>;
  runSettings?: RunSettings;
  /** The platform to build for (TARGETPLATFORM); absent: the host's. */
  platform?: PlatformSpec;
  /** Put each stage's platform in its step names (a build for several platforms). */
  showPlatform?: boolean;
  /** The date (seconds) of a SOURCE_DATE_EPOCH stage's remote source (a git or http(s) URL); absent: refused. */
  sourceDate?: (source: string) => Promise<number>;
  /** The date (seconds) of the build context's git or http(s) source, for SOURCE_DATE_EPOCH=context; absent: none. */
  contextDate?: () => Promise<number>;
}

/**
 * A `--build-context` as the frontend uses it: an image reference the resolver takes (a registry
 * name or `oci-layout://DIR…`), the empty image, or a directory the solver reads by this name.
 */
export type NamedContext =
  | { kind: 'image'; ref: string }
  | { kind: 'scratch' }
  /** `source`: the git or http(s) URL a fetched directory came from (its date can be SOURCE_DATE_EPOCH). */
  | { kind: 'local'; name: string; source?: string };

/** The build flags that shape every RUN (`--network`, `--add-host`, `--shm-size`, `--ulimit`). */
export interface RunSettings {
  /** `--network none|host`: the network of a RUN that names none (or says `default`). */
  network?: 'none' | 'host';
  extraHosts?: { host: string; ip: string }[];
  shmSize?: number;
  ulimits?: Ulimit[];
}
