import type { ContentStore } from '../store/content-store.js';
import type { Descriptor } from '../image/types.js';
import type { BlobSources } from '../registry/blob-sources.js';
import type { RegistryClient } from '../registry/client.js';
import type { OutputSpec } from './output-spec.js';
import type { ExtraFile } from './rootfs.js';
import type { PendingOutput } from './pending-output.js';

/** What an export did, for the build's closing summary; `type` is the exporter's (or `store`). */
export interface ExportReport {
  type: string;
}

/** The image as an output gets it: config and manifest in the store, layers in its encoding. */
export interface ExportedImage {
  manifest: Descriptor;
  config: Descriptor;
}

/** One transfer's bytes, as exporters report them (the pipeline turns them into progress events). */
export interface TransferUpdate {
  /** Names one transfer (a blob pushed to a repository, an archive written). */
  id: string;
  name: string;
  current: number;
  total?: number;
  done?: boolean;
}

export type TransferReporter = (t: TransferUpdate) => void;

export interface ExporterContext {
  store: ContentStore;
  stateRoot: string;
  /** The names this output gives the image (its `name=`, else the -t names). */
  names: string[];
  /** The build's registry client (shared with pulls), made on first use. */
  registry: () => Promise<RegistryClient>;
  /** Where blobs were seen in registries, for cross-repository mounts on push. */
  blobSources: () => Promise<BlobSources>;
  /** Downloads a layer blob the build took without fetching it (false: no such layer); a push asks only for what it uploads. */
  fetchBlob?: (digest: string) => Promise<boolean>;
  /** Byte progress of what the export moves (throttled by the receiver). */
  transfer?: TransferReporter;
  signal?: AbortSignal;
  /** Files to write beside the root filesystem (`dir`: '' or a platform's directory): local and tar's provenance. */
  attestationFiles?: ExtraFile[];
}

/** What one export leaves for the build to finish: outputs go in place and names are set together, last. */
export interface ExportStep<R extends ExportReport = ExportReport> {
  report: R;
  /** Written beside its dest, put in place only once every output is ready. */
  pending?: PendingOutput;
  /** Names to set in the state directory's store with the -t names. */
  name?: { manifest: Descriptor; names: string[] };
  /** Appended to the output's status line once done. */
  note?: string;
  /** Names pushed, and the manifest digest their registry has: recorded on the stored names (RepoDigests). */
  pushed?: { names: string[]; digest: Descriptor['digest'] };
}

/**
 * One output type of `-o type=…` (buildx's exporters). The CLI checks `-o` against these before
 * anything runs; the pipeline calls `export` and the CLI prints the report with `print`. An entry
 * file holds no heavy imports: the work is imported when `export` runs.
 */
export interface Exporter<R extends ExportReport = ExportReport> {
  /** Its `type=`. */
  type: string;
  /** Other `type=` names, each with what it implies on the fields (`registry` is `image` with push=true). */
  aliases?: Record<string, (fields: Map<string, string>, spec: string, bool: (key: string) => boolean) => void>;
  /** The keys it takes (buildx's names), besides `type`. */
  keys: readonly string[];
  /** Whether `dest=` is required, and what it names (a FILE may be `-`, stdout). */
  dest?: 'FILE' | 'DIR';
  /** Where `dest` may be left out: what the exporter does then (for help and hints). */
  withoutDest?: string;
  /** An example `-o` for hints. */
  example: string;
  /** Checks between options, once `dest` and `tar` are parsed. */
  validate?(out: OutputSpec, spec: string): void;
  /** The status line while it runs. */
  describe(out: OutputSpec, names: string[]): string;
  /**
   * Whether this output's effect cannot be taken back once made (a push, a docker load): such
   * exports run after every other output is written, and once one is done the build puts the
   * rest in place whatever an interrupt says, so what it leaves is never half an export.
   */
  irreversible?(out: OutputSpec): boolean;
  export(image: ExportedImage, out: OutputSpec, ctx: ExporterContext): Promise<ExportStep<R>>;
  /** The report's line in the build's closing summary. */
  print(report: R): string;
}

/** The keys of the image archive exporters (oci, docker). */
export const ARCHIVE_KEYS: readonly string[] = [
  'dest',
  'tar',
  'name',
  'compression',
  'compression-level',
  'force-compression',
  'oci-mediatypes',
  'source-date-epoch',
  'rewrite-timestamp',
];

/** Erases an exporter's report type for the table. */
export const entry = <R extends ExportReport>(e: Exporter<R>): Exporter => e as unknown as Exporter;
