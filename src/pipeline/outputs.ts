import type { ContentStore } from '../store/content-store.js';
import { buildImage, type ImageInput } from '../image/image-builder.js';
import { isIndexMediaType, MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../image/types.js';
import { formatPlatform, platformDirName } from '../registry/platform.js';
import { putAttestationManifest } from '../exporter/attestation-manifest.js';
import type { ExtraFile } from '../exporter/rootfs.js';
import { platformSplit } from '../exporter/platform-split.js';
import {
  IN_TOTO_STATEMENT,
  predicateTypeOf,
  provenancePredicate,
  provenanceStatement,
  type ProvenanceFacts,
} from '../exporter/provenance.js';
import type { ProvenanceSpec } from '../exporter/provenance-spec.js';
import { imagePurl } from './provenance-facts.js';
import { dockerManifestOf, hasDockerLayerType } from '../image/docker-media-types.js';
import type { RegistryClient } from '../registry/client.js';
import { OciManifestRefused } from '../registry/push.js';
import type { EventSink } from '../solver/events.js';
import type { Exporter, ExporterContext, ExportReport, ExportStep, TransferReporter } from '../exporter/exporter.js';
import { exporterFor, type StoredReport } from '../exporter/exporters.js';
import { outputError, type PendingOutput } from '../exporter/pending-output.js';
import type { BuildRequest, OutputSpec } from './build-request.js';
import type { LayerProvider, LayerWant } from './image-layers.js';
import type { StepRecord } from './step-report.js';

export interface ExportContext {
  req: BuildRequest;
  store: ContentStore;
  /** The image's config, everything but its layers. */
  image: Omit<ImageInput, 'layers'>;
  layers: LayerProvider;
  /**
   * A build for several platforms: each platform's image (its config names the platform). The
   * outputs then get an image index of their manifests, in this order; `image` and `layers` are the first's.
   */
  platforms?: { image: Omit<ImageInput, 'layers'>; layers: LayerProvider }[];
  emit: EventSink;
  /** The build's registry client (shared with pulls), made on first use. */
  registry: () => Promise<RegistryClient>;
  /**
   * Downloads the blob of a layer the build has not fetched (a base image's or an imported
   * cache's, taken as it is): false when no such layer has it.
   */
  fetchBlob?: (digest: string) => Promise<boolean>;
  /** Byte progress of pushes and archives (throttled: transfer-progress.ts). */
  transfer?: TransferReporter;
  signal?: AbortSignal;
  /** The build's steps with their time and usage, for `--metadata-file`'s `tsbuild.steps`. */
  steps?: () => StepRecord[];
  /** `--provenance`: what to attest, and each platform's facts (in `platforms`' order, else one). */
  provenance?: { spec: ProvenanceSpec; facts: ProvenanceFacts[] };
}

export interface ExportResult {
  /** The image that was stored, pushed or written first: what the build reports. */
  manifest: Descriptor;
  config: Descriptor;
  exported: ExportReport[];
}

/** The image an output asks for: its layers' encoding, and `oci-mediatypes=false`'s Docker media types. */
type ImageWant = LayerWant & { dockerMediaTypes?: true; attestFor?: string[] };

/**
 * Outputs that hold an image index get the provenance inside it (BuildKit's attestation manifests);
 * local and tar get a file beside each root filesystem; docker drops it, as buildx's docker exporter
 * does (a docker archive has no place for it).
 */
const ATTESTS_IN_INDEX = new Set(['oci', 'image']);
const ATTESTS_AS_FILE = new Set(['local', 'tar']);

interface Materialized {
  manifest: Descriptor;
  config: Descriptor;
}

/**
 * Writes the image to each requested output; with -t, also tags it in the state directory.
 * Each output gets the image with its layers in the encoding it asks for (gzip unless told
 * otherwise), made once per encoding. `--push` is buildx's shorthand for an image output that
 * pushes the -t names.
 */
export async function exportOutputs(ctx: ExportContext): Promise<ExportResult> {
  const { req, store, emit, signal } = ctx;
  const outputs: OutputSpec[] = [...req.outputs];
  if (req.push && !outputs.some((o) => o.type === 'image' && o.push)) outputs.push({ type: 'image', push: true });
  const images = new Map<string, Promise<Materialized>>();
  const imageFor = (want: ImageWant): Promise<Materialized> => {
    const key = JSON.stringify(want);
    let p = images.get(key);
    if (!p) {
      p = materialize(ctx, want);
      images.set(key, p);
    }
    return p;
  };

  const done: ExportReport[] = [];
  const exportContext: Omit<ExporterContext, 'names'> = {
    store,
    stateRoot: req.stateRoot,
    registry: ctx.registry,
    blobSources: async () => (await import('../registry/registry-setup.js')).blobSources(req.stateRoot),
    ...(ctx.fetchBlob ? { fetchBlob: ctx.fetchBlob } : {}),
    ...(ctx.transfer ? { transfer: ctx.transfer } : {}),
    ...(signal ? { signal } : {}),
  };
  let primary: (Materialized & { names: string[] }) | undefined;
  // Every file output is written beside its dest and put in place only once all outputs and the
  // tags are ready: an export that fails anywhere leaves no output and no tag (PendingOutput).
  const pending: PendingOutput[] = [];
  const toName: { manifest: Descriptor; names: string[] }[] = [];
  const pushed: NonNullable<ExportStep['pushed']>[] = [];
  // Set once an output that cannot be taken back (a push, a docker load) is made: from then on
  // the build puts every output in place and names the image whatever an interrupt says.
  let irreversibleDone = false;
  const checkInterrupt = (): void => {
    if (!irreversibleDone) signal?.throwIfAborted();
  };
  try {
    // the image each output gets, in the order given (the first is the build's image)
    const planned: { out: OutputSpec; want: ImageWant; names: string[]; exporter: Exporter; irreversible: boolean }[] =
      [];
    for (const out of outputs) {
      const want: ImageWant = {
        compression: out.compression ?? 'gzip',
        ...(out.compressionLevel !== undefined ? { level: out.compressionLevel } : {}),
        ...(out.forceCompression ? { force: true } : {}),
        ...(out.rewriteTimestamp ? { rewriteTimestamp: true } : {}),
        ...(out.ociMediaTypes === false ? { dockerMediaTypes: true } : {}),
      };
      const names = out.names ?? req.tags;
      if (ctx.provenance && ATTESTS_IN_INDEX.has(out.type)) want.attestFor = names;
      // the CLI checked every -o against the exporter table
      const exporter = exporterFor(out.type);
      if (!exporter) throw new Error(`no exporter for output type "${out.type}"`);
      planned.push({ out, want, names, exporter, irreversible: exporter.irreversible?.(out) === true });
    }
    // what cannot be taken back goes last, once every other output is written beside its dest
    const order = [...planned.filter((p) => !p.irreversible), ...planned.filter((p) => p.irreversible)];
    for (const planEntry of order) {
      const { out, names, exporter, irreversible } = planEntry;
      const start = Date.now();
      const message = exporter.describe(out, names);
      emit({ type: 'status', time: start, message });
      checkInterrupt();
      const image = await imageFor(planEntry.want);
      // an output that writes the image's bytes needs every blob here; a push fetches only what the registry lacks
      if (!(out.type === 'image' && out.push)) await fetchLayerBlobs(ctx, image.manifest);
      checkInterrupt();
      const context = {
        ...exportContext,
        names,
        ...(ctx.provenance && ATTESTS_AS_FILE.has(out.type) && !ctx.provenance.spec.inlineOnly
          ? { attestationFiles: provenanceFiles(ctx, ctx.provenance, platformSplit(out)) }
          : {}),
        // a second push is not stopped halfway once the first has landed
        ...(irreversibleDone ? { signal: undefined } : {}),
      };
      const step = await exporter.export(image, out, context).catch(async (err: unknown) => {
        // a registry that takes Docker manifests only: pushed again so, unless oci-mediatypes was given
        if (!(err instanceof OciManifestRefused) || out.ociMediaTypes !== undefined || planEntry.want.dockerMediaTypes)
          throw err;
        emit({
          type: 'warning',
          time: Date.now(),
          message: `${err.message} (${err.detail ?? 'OCI media type refused'}): pushing Docker media types instead, as with oci-mediatypes=false`,
        });
        planEntry.want = { ...planEntry.want, dockerMediaTypes: true };
        return exporter.export(await imageFor(planEntry.want), out, context);
      });
      if (irreversible) irreversibleDone = true;
      if (step.pending) pending.push(step.pending);
      if (step.name) toName.push(step.name);
      if (step.pushed) pushed.push(step.pushed);
      emit({
        type: 'status',
        time: Date.now(),
        message: message + (step.note ?? ''),
        done: true,
        durationMs: Date.now() - start,
      });
      done.push(step.report);
    }
    const first = planned[0];
    if (first) primary = { ...(await imageFor(first.want)), names: first.names };

    // With -t the image is also named in the state dir: the first output's image, else one made
    // with whatever blobs the layers already have (new layers: their plain tar, no compression cost).
    const stored = primary ?? { ...(await imageFor({ compression: 'any' })), names: req.tags };
    if (req.tags.length) toName.push({ manifest: stored.manifest, names: req.tags });
    // The store keeps named images whole (runnable, savable): their layers are fetched, not unpacked.
    // A pushed image is named as what was pushed: a layer the registry had already stays there.
    if (!pushed.length) for (const { manifest } of toName) await fetchLayerBlobs(ctx, manifest);
    if (req.metadataFile) {
      const { prepareMetadataFile } = await import('../exporter/metadata.js');
      pending.push(await prepareMetadataFile(req.metadataFile, stored, ctx.steps?.()));
    }
    if (req.iidFile) {
      const { prepareIidFile } = await import('../exporter/metadata.js');
      pending.push(await prepareIidFile(req.iidFile, stored.config));
    }
    // Cancelled (Ctrl-C) while the outputs were written: nothing is named or put in place.
    checkInterrupt();
    if (toName.length) {
      const { storeImage } = await import('../exporter/local-store.js');
      for (const { manifest, names } of toName) {
        await storeImage(store, manifest, names, { blobsChecked: true }).catch((err: unknown) => {
          throw outputError(err, `cannot name the image ${names.join(', ')} in ${store.root}`);
        });
      }
      done.push(...req.tags.map((name): StoredReport => ({ type: 'store', name, root: req.stateRoot })));
      // what the registry has each pushed name under, on the stored names (docker's RepoDigests)
      if (pushed.length) {
        const { ImageStore } = await import('../exporter/image-store.js');
        const images = new ImageStore(store);
        // a record that cannot be written (a full disk) costs inspect's RepoDigests, not the pushed build
        for (const p of pushed)
          for (const name of p.names)
            await images.recordRepoDigest(name, p.digest).catch((err: unknown) =>
              emit({
                type: 'warning',
                time: Date.now(),
                message: `the repo digest of ${name} was not recorded: ${String(err)}`,
              }),
            );
      }
    }
    // past the last check: the names are set, so the outputs go in place too; each leaves the list as it goes in place; should one fail, the rest are discarded below
    while (pending.length) await pending.shift()!.commit();
    return { manifest: stored.manifest, config: stored.config, exported: done };
  } finally {
    await Promise.all(pending.map((p) => p.discard()));
  }
}

/** Downloads the layer blobs of image `root` (a manifest or index in the store) that are not here yet. */
async function fetchLayerBlobs(ctx: ExportContext, root: Descriptor): Promise<void> {
  if (!ctx.fetchBlob) return;
  const fetch = ctx.fetchBlob;
  const manifests = isIndexMediaType(root.mediaType)
    ? (await ctx.store.readJson<ImageIndex>(root.digest)).manifests
    : [root];
  for (const m of manifests) {
    const { layers } = await ctx.store.readJson<ImageManifest>(m.digest);
    await Promise.all(
      layers.map(async (l) => {
        if (!(await ctx.store.has(l.digest))) await fetch(l.digest);
      }),
    );
  }
}

/**
 * The image's config and manifest with layers in the wanted encoding, put in the store; for
 * several platforms, an OCI image index of their manifests (each with its platform), which
 * stands as both manifest and config (its digest is the image's ID, as buildx reports it).
 */
async function materialize(ctx: ExportContext, want: ImageWant): Promise<Materialized> {
  if (want.attestFor && ctx.provenance) return materializeAttested(ctx, want, ctx.provenance, want.attestFor);
  if (!ctx.platforms) return materializeOne(ctx, ctx.image, ctx.layers, want);
  const manifests: Descriptor[] = [];
  for (const p of ctx.platforms) {
    const { manifest } = await materializeOne(ctx, p.image, p.layers, want);
    const { os, architecture, variant } = p.image;
    manifests.push({ ...manifest, platform: { architecture, os, ...(variant ? { variant } : {}) } });
  }
  // a Docker manifest list only of Docker manifests (a zstd layer keeps its manifest OCI, as BuildKit does)
  const mediaType = manifests.every((m) => m.mediaType === MediaType.dockerManifest)
    ? MediaType.dockerManifestList
    : MediaType.ociIndex;
  // `--annotation index:` in the index, `index-descriptor:` on its descriptor (an OCI layout's index.json)
  const annotations = ctx.req.annotations;
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType,
    manifests,
    ...(annotations && Object.keys(annotations.index).length ? { annotations: { ...annotations.index } } : {}),
  };
  let stored = await ctx.store.put(JSON.stringify(index), mediaType);
  if (annotations && Object.keys(annotations.indexDescriptor).length)
    stored = { ...stored, annotations: { ...annotations.indexDescriptor } };
  return { manifest: stored, config: stored };
}

/**
 * The image with a provenance attestation per platform image: always an OCI index (even for one
 * platform), the images first, then each one's attestation manifest (BuildKit's order). The images'
 * own manifests and configs are the ones made without attestations; the index is new.
 */
async function materializeAttested(
  ctx: ExportContext,
  want: ImageWant,
  provenance: NonNullable<ExportContext['provenance']>,
  names: string[],
): Promise<Materialized> {
  const { attestFor: _, ...plain } = want;
  const platforms = ctx.platforms ?? [{ image: ctx.image, layers: ctx.layers }];
  const images: Descriptor[] = [];
  const attestations: Descriptor[] = [];
  let firstConfig: Descriptor | undefined;
  for (const [i, p] of platforms.entries()) {
    const { manifest, config } = await materializeOne(ctx, p.image, p.layers, plain);
    firstConfig ??= config;
    const { os, architecture, variant } = p.image;
    const platform = { architecture, os, ...(variant ? { variant } : {}) };
    images.push({ ...manifest, platform });
    const facts = await withLayerMap(ctx.store, provenance.facts[i] ?? provenance.facts[0]!, manifest);
    const statement = provenanceStatement(provenance.spec, facts, {
      digest: manifest.digest,
      purls: names.map((n) => imagePurl(n, platform)),
    });
    const { annotations: _a, ...subject } = manifest;
    attestations.push(
      await putAttestationManifest(ctx.store, subject, [
        { predicateType: predicateTypeOf(provenance.spec), json: JSON.stringify(statement) },
      ]),
    );
  }
  const annotations = ctx.req.annotations;
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [...images, ...attestations],
    ...(annotations && Object.keys(annotations.index).length ? { annotations: { ...annotations.index } } : {}),
  };
  let stored = await ctx.store.put(JSON.stringify(index), MediaType.ociIndex);
  if (annotations && Object.keys(annotations.indexDescriptor).length)
    stored = { ...stored, annotations: { ...annotations.indexDescriptor } };
  // one platform: the image ID stays its config's (as BuildKit reports containerimage.config.digest)
  return { manifest: stored, config: ctx.platforms ? stored : firstConfig! };
}

/** The facts with mode=max's layer map: each step's layer chain as this image's manifest has it. */
async function withLayerMap(
  store: ContentStore,
  facts: ProvenanceFacts,
  manifest: Descriptor,
): Promise<ProvenanceFacts> {
  if (!facts.layerPrefixes?.length) return facts;
  const { layers } = await store.readJson<ImageManifest>(manifest.digest);
  const map: NonNullable<ProvenanceFacts['layers']> = {};
  for (const { step, count } of facts.layerPrefixes) {
    if (count === 0 || count > layers.length) continue;
    map[`${step}:0`] = [layers.slice(0, count).map(({ mediaType, digest, size }) => ({ mediaType, digest, size }))];
  }
  return { ...facts, layers: map };
}

/**
 * local and tar outputs: the statement in `provenance.json` beside each platform's root filesystem,
 * its subjects the files there (BuildKit's local exporter: indented JSON, mode 0600).
 */
function provenanceFiles(
  ctx: ExportContext,
  provenance: NonNullable<ExportContext['provenance']>,
  split: boolean | undefined,
): ExtraFile[] {
  const name = provenance.spec.filename ?? 'provenance.json';
  const platforms = ctx.platforms ?? [{ image: ctx.image }];
  const ownDirs = split ?? platforms.length > 1;
  return platforms.map((p, i) => {
    const dirName = platformDirName(p.image);
    // several platforms in one directory: each its own file, `provenance.linux_amd64.json` (BuildKit's naming)
    const dot = name.lastIndexOf('.');
    const shared = dot > 0 ? `${name.slice(0, dot)}.${dirName}${name.slice(dot)}` : `${name}.${dirName}`;
    return {
      dir: ownDirs ? dirName : '',
      name: ownDirs || platforms.length === 1 ? name : shared,
      render: (subjects) =>
        JSON.stringify(
          {
            _type: IN_TOTO_STATEMENT,
            predicateType: predicateTypeOf(provenance.spec),
            subject: subjects,
            predicate: provenancePredicate(provenance.spec, provenance.facts[i] ?? provenance.facts[0]!),
          },
          null,
          2,
        ),
    };
  });
}

async function materializeOne(
  ctx: ExportContext,
  input: Omit<ImageInput, 'layers'>,
  layerProvider: LayerProvider,
  want: ImageWant,
): Promise<Materialized> {
  const started = Date.now();
  ctx.emit({ type: 'status', time: started, message: 'exporting layers' });
  const { dockerMediaTypes: _, ...layerWant } = want;
  const layers = await layerProvider(layerWant).catch((err: unknown) => {
    throw outputError(err, `cannot make the image's layer blobs in ${ctx.store.root}`);
  });
  const annotations = ctx.req.annotations;
  // `manifest[linux/arm64]:` annotations go on that platform's manifest only, over the plain ones
  const platformName = formatPlatform(input);
  const manifestAnnotations = annotations && {
    ...annotations.manifest,
    ...annotations.manifestFor?.[platformName],
  };
  const descriptorAnnotations = annotations && {
    ...annotations.manifestDescriptor,
    ...annotations.manifestDescriptorFor?.[platformName],
  };
  const image = buildImage({
    ...input,
    layers,
    ...(manifestAnnotations ? { manifestAnnotations } : {}),
  });
  // oci-mediatypes=false: Docker's media types, unless a layer has none (zstd), as BuildKit forces OCI then
  const docker = want.dockerMediaTypes === true && layers.every((l) => hasDockerLayerType(l.descriptor.mediaType));
  if (want.dockerMediaTypes && !docker)
    ctx.emit({
      type: 'warning',
      time: Date.now(),
      message: 'oci-mediatypes=false: a zstd layer has no Docker media type, the image keeps OCI media types',
    });
  const configType = docker ? MediaType.dockerConfig : MediaType.ociConfig;
  const config = await ctx.store.put(JSON.stringify(image.config), configType);
  let manifest = docker
    ? await ctx.store.put(JSON.stringify(dockerManifestOf(image.manifestFor(config))), MediaType.dockerManifest)
    : await ctx.store.put(JSON.stringify(image.manifestFor(config)), MediaType.ociManifest);
  // `manifest-descriptor:` annotations ride on the descriptor: an OCI layout's index.json shows them
  if (descriptorAnnotations && Object.keys(descriptorAnnotations).length)
    manifest = { ...manifest, annotations: descriptorAnnotations };
  ctx.emit({
    type: 'status',
    time: Date.now(),
    message: 'exporting layers',
    done: true,
    durationMs: Date.now() - started,
  });
  return { manifest, config };
}
