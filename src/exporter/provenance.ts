import type { ProvenanceSpec } from './provenance-spec.js';

/** The in-toto statement type BuildKit writes today (for both SLSA versions). */
export const IN_TOTO_STATEMENT = 'https://in-toto.io/Statement/v1';
export const SLSA_V02 = 'https://slsa.dev/provenance/v0.2';
export const SLSA_V1 = 'https://slsa.dev/provenance/v1';
/** buildType of each predicate, BuildKit's words. */
const BUILD_TYPE_V02 = 'https://mobyproject.org/buildkit@v1';
const BUILD_TYPE_V1 = 'https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md';

/** A material (v0.2) / resolved dependency (v1): a base image, an ADD URL, a git source. */
export interface Material {
  uri: string;
  digest: Record<string, string>;
}

/** One step of the build as mode=max records it (tsbuild's counterpart of BuildKit's LLB definition). */
export interface BuildStep {
  id: string;
  /** The step's op: its kind and, for RUN, COPY and ADD, the instruction as it ran. */
  op: Record<string, unknown>;
  /** `stepN:0`: the steps it reads (the rootfs first). */
  inputs?: string[];
}

/** What one platform's provenance records: everything tsbuild knows truthfully about the build. */
export interface ProvenanceFacts {
  invocationId: string;
  startedOn: string;
  finishedOn: string;
  /** The Dockerfile's path in the context (`Dockerfile`). */
  entryPoint: string;
  /** A git or URL context: where it came from (credentials redacted). */
  configSourceUri?: string;
  /** The frontend attributes as buildx sends them: `build-arg:NAME`, `label:KEY`, `target`, `context:NAME`. */
  args: Record<string, string>;
  /** `context`, `dockerfile`, and each `--build-context` directory. */
  locals: string[];
  secrets: { id: string; optional: boolean }[];
  ssh: { id: string; optional: boolean }[];
  /** The platform tsbuild runs on, e.g. `linux/amd64`. */
  builderPlatform: string;
  materials: Material[];
  /** The Dockerfile as read (mode=max's source info). */
  dockerfile?: { filename: string; data: string };
  steps: BuildStep[];
  /** mode=max's source map: the Dockerfile line each step comes from, by step id (BuildKit's `source.locations`). */
  locations?: Record<string, { locations: { ranges: { start: { line: number }; end: { line: number } }[] }[] }>;
  /**
   * For mode=max's layer map (`buildkit_metadata.layers`): each step whose result is the first
   * `count` layers of this platform's image; the exporter fills in the descriptors as exported.
   */
  layerPrefixes?: { step: string; count: number }[];
  /** The layer map, once the image's manifest is made: `stepN:0` → its layer chain. */
  layers?: Record<string, { mediaType: string; digest: string; size: number }[][]>;
}

/** In min mode only named contexts' values are kept (they name sources, as materials do), as BuildKit filters. */
function argsFor(mode: ProvenanceSpec['mode'], args: Record<string, string>): Record<string, string> {
  if (mode === 'max') return { ...args };
  return Object.fromEntries(Object.entries(args).filter(([k]) => k.startsWith('context:')));
}

/**
 * The provenance predicate of one platform image, in the SLSA version asked for, with the fields
 * BuildKit fills that tsbuild can fill truthfully (README "Attestations" lists what differs).
 */
export function provenancePredicate(spec: ProvenanceSpec, facts: ProvenanceFacts): Record<string, unknown> {
  const max = spec.mode === 'max';
  const args = argsFor(spec.mode, facts.args);
  const locals = facts.locals.map((name) => ({ name }));
  const source =
    max && facts.dockerfile
      ? {
          infos: [{ filename: facts.dockerfile.filename, language: 'Dockerfile', data: b64(facts.dockerfile.data) }],
          ...(facts.locations && Object.keys(facts.locations).length ? { locations: facts.locations } : {}),
        }
      : undefined;
  const buildConfig = max ? { llbDefinition: facts.steps } : undefined;
  const configSource = {
    ...(facts.configSourceUri ? { uri: facts.configSourceUri } : {}),
  };
  const layers = max && facts.layers && Object.keys(facts.layers).length ? facts.layers : undefined;
  const buildkitMetadata = { ...(source ? { source } : {}), ...(layers ? { layers } : {}) };
  if (spec.version === 'v0.2')
    return {
      builder: { id: spec.builderId ?? '' },
      buildType: BUILD_TYPE_V02,
      materials: facts.materials,
      invocation: {
        configSource: { ...configSource, entryPoint: facts.entryPoint },
        parameters: {
          frontend: 'dockerfile.v0',
          args,
          locals,
          ...(max && facts.secrets.length ? { secrets: facts.secrets } : {}),
          ...(max && facts.ssh.length ? { ssh: facts.ssh } : {}),
        },
        environment: { platform: facts.builderPlatform },
      },
      ...(buildConfig ? { buildConfig } : {}),
      metadata: {
        buildInvocationID: facts.invocationId,
        buildStartedOn: facts.startedOn,
        buildFinishedOn: facts.finishedOn,
        completeness: { parameters: max, environment: true, materials: false },
        reproducible: spec.reproducible === true,
        'https://mobyproject.org/buildkit@v1#metadata': buildkitMetadata,
      },
    };
  return {
    buildDefinition: {
      buildType: BUILD_TYPE_V1,
      externalParameters: {
        configSource: { ...configSource, path: facts.entryPoint },
        request: {
          frontend: 'dockerfile.v0',
          args,
          locals,
          ...(max && facts.secrets.length ? { secrets: facts.secrets } : {}),
          ...(max && facts.ssh.length ? { ssh: facts.ssh } : {}),
        },
      },
      internalParameters: {
        ...(buildConfig ? { buildConfig } : {}),
        builderPlatform: facts.builderPlatform,
      },
      resolvedDependencies: facts.materials,
    },
    runDetails: {
      builder: { id: spec.builderId ?? '' },
      metadata: {
        invocationId: facts.invocationId,
        startedOn: facts.startedOn,
        finishedOn: facts.finishedOn,
        buildkit_reproducible: spec.reproducible === true,
        buildkit_completeness: { request: max, resolvedDependencies: false },
        buildkit_metadata: buildkitMetadata,
      },
    },
  };
}

/** The in-toto statement of one platform image: its subject is the image manifest, once per name (purls). */
export function provenanceStatement(
  spec: ProvenanceSpec,
  facts: ProvenanceFacts,
  subject: { digest: string; purls: string[] },
): Record<string, unknown> {
  const hex = subject.digest.replace(/^sha256:/, '');
  const names = subject.purls.length ? subject.purls : ['_'];
  return {
    _type: IN_TOTO_STATEMENT,
    predicateType: predicateTypeOf(spec),
    subject: names.map((name) => ({ name, digest: { sha256: hex } })),
    predicate: provenancePredicate(spec, facts),
  };
}

export const predicateTypeOf = (spec: ProvenanceSpec): string => (spec.version === 'v0.2' ? SLSA_V02 : SLSA_V1);

/** Go's []byte marshals as base64: BuildKit's source infos carry the Dockerfile so. */
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
