/**
 * One build, end to end: Dockerfile → plan (frontend) → results (solver) → image (layer blobs,
 * config, manifest) → outputs (exporters). This module only wires the others together.
 */
import { setMaxListeners } from 'node:events';
import { basename, relative } from 'node:path';
import { CacheRecords } from '../cache/cache-records.js';
import { ContentStore } from '../store/content-store.js';
import { hashFileFast } from '../cache/file-hash.js';
import { StatCache } from '../cache/stat-cache.js';
import { StatePaths } from '../store/state-paths.js';
import { openStateSession } from '../cache/state-session.js';
import { StepIndex, stepIndexFile } from '../cache/step-index.js';
import { asEnvironmentError, EnvironmentError } from '../errors.js';
import { convertDockerfile } from '../frontend/convert.js';
import type { BuildPlan } from '../frontend/build-plan.js';
import { mergeGraphs } from '../solver/graph-merge.js';
import type { PlatformSpec } from '../registry/platform.js';
import type { NamedContext } from '../frontend/build-plan.js';
import type { ContextDir } from '../solver/ops/op-context.js';
import { shortForm } from '../frontend/checks/lint-report.js';
import type { Warning } from '../frontend/instruction-types.js';
import { SnapshotStore } from '../snapshot/snapshot-store.js';
import { checkEntitlements } from '../solver/entitlements.js';
import type { EventSink, SolverEvent } from '../solver/events.js';
import { Solver } from '../solver/solve.js';
import { StepHistory } from '../solver/step-history.js';
import { BaseImages } from '../registry/base-images.js';
import { baseImageResolver } from './base-image-resolver.js';
import type { BuildRequest, BuildResult } from './build-request.js';
import { readDockerfile } from './dockerfile-file.js';
import { loadDockerignore } from './dockerignore-file.js';
import { internalStep } from './internal-step.js';
import { readsBuildContext } from '../solver/context-transfer.js';
import { inputsFirst, type Vertex } from '../solver/graph.js';
import { layerProvider } from './image-layers.js';
import { exportOutputs } from './outputs.js';
import { blobTransfer, shortDigest, transferProgress } from './transfer-progress.js';
import { BuildLog } from '../progress/build-log.js';
import { printReport } from '../exporter/exporters.js';
import { stateOwners } from './state-owners.js';
import { StepReport } from './step-report.js';
import { outputsSourceDateEpoch } from '../exporter/output-spec.js';

/**
 * One build, its events going to `emitEvent` and to the build's log in the state dir (kept for
 * `tsbuild history logs`), the last of them the `result` event.
 */
export async function runBuild(req: BuildRequest, emitEvent: EventSink, signal?: AbortSignal): Promise<BuildResult> {
  const started = Date.now();
  // Every running step and every layer being written listens for the cancel: dozens at once are
  // no leak, and node's warning would land in the middle of the live progress view.
  if (signal) setMaxListeners(0, signal);
  const paths = new StatePaths(req.stateRoot);
  // Opened once the state dir is (the session makes it, and tells a new one from an old one);
  // what comes before (waiting for the state lock) is kept until then.
  let log: BuildLog | undefined;
  let early: SolverEvent[] | undefined = [];
  const startLog = async (): Promise<void> => {
    log = await openBuildLog(paths, req);
    for (const e of early ?? []) log?.write(e);
    early = undefined;
  };
  const emit: EventSink = (e) => {
    if (log) log.write(e);
    else early?.push(e);
    emitEvent(e);
  };
  try {
    const result = await buildWithSession(req, paths, emit, startLog, signal);
    const outputs = result.exported.map(printReport);
    emit({
      type: 'result',
      time: Date.now(),
      durationMs: Date.now() - started,
      result: {
        ok: true,
        imageId: result.configDigest,
        manifestDigest: result.manifestDigest,
        names: req.tags,
        outputs,
      },
    });
    return result;
  } catch (err) {
    emit({
      type: 'result',
      time: Date.now(),
      durationMs: Date.now() - started,
      result: {
        ok: false,
        error: err instanceof Error ? err.message : String(err),
        ...(signal?.aborted ? { interrupted: true } : {}),
      },
    });
    throw err;
  } finally {
    await log?.close();
  }
}

/** The build's log; a state dir that cannot take it (full, read-only) costs the log, not the build. */
async function openBuildLog(paths: StatePaths, req: BuildRequest): Promise<BuildLog | undefined> {
  return BuildLog.open(paths.buildLogs, {
    context: req.contextDir,
    ...(req.dockerfilePath ? { dockerfile: req.dockerfilePath } : {}),
    ...(req.target ? { target: req.target } : {}),
    tags: req.tags,
  }).catch(() => undefined);
}

async function buildWithSession(
  req: BuildRequest,
  paths: StatePaths,
  emitEvent: EventSink,
  startLog: () => Promise<void>,
  signal?: AbortSignal,
): Promise<BuildResult> {
  // Shared lease on the state dir (GC waits for it) and a sweep of what killed builds left.
  const session = await openStateSession(
    paths,
    (message) => emitEvent({ type: 'status', time: Date.now(), message }),
    signal,
  );
  await startLog();
  let grew = req.outputs.length > 0 || !!req.cacheFrom?.length;
  const steps = new StepReport();
  const emit: EventSink = (e) => {
    if (e.type === 'vertex.start') grew = true;
    steps.observe(e);
    emitEvent(e);
  };
  const store = new ContentStore(paths.content);
  const snapshots = new SnapshotStore(paths.snapshots);
  const records = new CacheRecords(paths.cacheRecords);
  // What the build opened that must not outlive it (the registry client's sockets).
  const closers: (() => void)[] = [];
  try {
    return await buildInState(req, emit, signal, {
      paths,
      store,
      snapshots,
      records,
      layoutReady: session.layoutReady,
      closers,
      steps,
    });
  } finally {
    for (const close of closers) close();
    const owners = () => stateOwners(paths, store);
    await session.close({ grew, parts: { store, snapshots, records, owners } }).catch((err: unknown) => {
      // The cap trims the cache after the build; a disk too full for its bookkeeping must not
      // undo a build whose outputs are in place: say so, and let prune do it.
      const env = asEnvironmentError(err, 'the cache cap was not applied');
      if (!(env instanceof EnvironmentError)) throw err;
      emitEvent({ type: 'warning', time: Date.now(), message: `${env.message} (run tsbuild prune to free space)` });
    });
  }
}

interface State {
  layoutReady: Promise<void>;
  paths: StatePaths;
  store: ContentStore;
  snapshots: SnapshotStore;
  records: CacheRecords;
  closers: (() => void)[];
  steps: StepReport;
}

async function buildInState(
  req: BuildRequest,
  emit: EventSink,
  signal: AbortSignal | undefined,
  { paths, store, snapshots, records, layoutReady, closers, steps }: State,
): Promise<BuildResult> {
  const provenanceStart = req.provenance ? Date.now() : 0;
  await store.init();

  const rel = req.dockerfilePath ? relative(process.cwd(), req.dockerfilePath) : '';
  const file =
    req.fetchedContext?.dockerfileName ??
    (req.dockerfilePath ? (rel && !rel.startsWith('..') ? rel : req.dockerfilePath) : 'Dockerfile (stdin)');
  // shown as BuildKit shows its first two loads, with the bytes each moved
  const source = await internalStep(
    { id: 'load:dockerfile', name: `[internal] load build definition from ${dockerfileShownName(req)}` },
    async () => req.dockerfileSource ?? (await readDockerfile(req.dockerfilePath!)),
    emit,
    signal,
    { what: 'dockerfile', bytes: (text) => Buffer.byteLength(text) },
  );
  const ignore = await internalStep(
    { id: 'load:dockerignore', name: '[internal] load .dockerignore' },
    () => loadDockerignore(req.contextDir, req.dockerfilePath),
    emit,
    signal,
    { what: 'context', bytes: (loaded) => loaded.bytes ?? 0 },
  );
  const bases = new BaseImages(store, req.contextDir, {
    stateRoot: req.stateRoot,
    ...(req.pull ? { pull: true } : {}),
    registry: async () => {
      const [{ createRegistryClient, blobSources }, { insecureRegistryHosts }] = await Promise.all([
        import('../registry/registry-setup.js'),
        import('./insecure-registries.js'),
      ]);
      const client = createRegistryClient({
        insecureHosts: insecureRegistryHosts(req),
        caFiles: req.registryCas ?? [],
      });
      return { client, sources: blobSources(req.stateRoot) };
    },
  });
  // a layout named with --build-context is one the user gave the build: it may be read (as BuildKit
  // reads OCI layouts only when named so)
  const layoutGrants = [...(req.namedContexts?.values() ?? [])].flatMap((c) =>
    c.kind === 'oci-layout' ? [c.dir] : [],
  );
  const resolveBase = baseImageResolver(
    bases,
    req.contextDir,
    [...(req.allow?.fsRead ?? []), ...layoutGrants],
    emit,
    signal,
  );
  closers.push(() => bases.close());

  const contextIgnore = ignore.patterns ? { isIgnored: ignore.isIgnored, patterns: ignore.patterns } : undefined;
  if (req.call) {
    const { runFrontendCall } = await import('./frontend-call.js');
    const call = await runFrontendCall(req, { file, source, resolveImage: resolveBase, contextIgnore });
    return { manifestDigest: '', configDigest: '', exported: [], warnings: [], call };
  }

  // Reading --cache-from needs nothing from the Dockerfile: it overlaps resolving the base images.
  const importing = req.cacheFrom?.length
    ? import('../cache/remote/cache-import.js').then((m) =>
        m.importCaches(req.cacheFrom!, {
          store,
          stateRoot: req.stateRoot,
          snapshots,
          registry: bases.registryClient,
          emit,
          ...(signal ? { signal } : {}),
        }),
      )
    : Promise.resolve(undefined);
  importing.catch(() => {});
  // the checks that ran before a Dockerfile error are still reported, as BuildKit does
  const checked: Warning[] = [];
  const emitWarnings = (list: Warning[]): string[] => {
    // BuildKit's short form for build checks (`Rule: detail (line N)`), listed at the end of the build
    const messages = list.map(shortForm);
    for (const message of messages) emit({ type: 'warning', time: Date.now(), message });
    return messages;
  };
  // One conversion per platform (--platform): each its own TARGET* args, base manifests and step
  // names; what they have in common is merged into one graph below. Checks are reported once.
  const platforms = req.platforms ?? [];
  const several = platforms.length > 1;
  const plans: BuildPlan[] = [];
  for (const [i, platform] of (platforms.length ? platforms : [undefined]).entries()) {
    plans.push(await convertFor(platform, i === 0 ? checked : []));
  }
  const plan = plans[0]!;
  async function convertFor(platform: PlatformSpec | undefined, warningList: Warning[]): Promise<BuildPlan> {
    return convertDockerfile({
      file,
      source,
      buildArgs: req.buildArgs,
      warnings: warningList,
      ...(platform ? { platform } : {}),
      ...(several ? { showPlatform: true } : {}),
      ...(req.target ? { target: req.target } : {}),
      // a full disk while storing a base's manifest or config: say which base
      resolveImage: (ref, location, on) =>
        resolveBase(ref, location, on).catch((err: unknown) => {
          throw asEnvironmentError(err, `cannot resolve the base image ${ref}`);
        }),
      noCache: req.noCache,
      ...(req.noCacheFilter?.length ? { noCacheStages: new Set(req.noCacheFilter) } : {}),
      ...(req.namedContexts?.size ? { namedContexts: frontendContexts(req.namedContexts) } : {}),
      ...(req.runSettings ? { runSettings: req.runSettings } : {}),
      ...(contextIgnore ? { contextIgnore } : {}),
      ...(req.fetchedContext?.url
        ? {
            contextDate: async () =>
              (await import('./stage-source-date.js')).stageSourceDate(req.fetchedContext!.url!, paths.tmp, signal),
          }
        : {}),
      sourceDate: async (src) => (await import('./stage-source-date.js')).stageSourceDate(src, paths.tmp, signal),
    }).catch((err: unknown) => {
      emitWarnings(checked);
      throw err;
    });
  }
  for (const p of plans) {
    // buildx's --label: after the Dockerfile's LABELs, on the final image only
    if (req.labels && Object.keys(req.labels).length)
      p.image.config.Labels = { ...(p.image.config.Labels ?? {}), ...req.labels };
    checkEntitlements(p.target, req.allow);
  }
  const targets = several ? mergeGraphs(plans.map((p) => p.target)) : [plan.target];
  for (const name of req.noCacheFilter ?? []) {
    if (name !== '*' && !plan.stages.includes(name))
      emit({
        type: 'warning',
        time: Date.now(),
        message: `--no-cache-filter ${name}: no stage of that name is part of this build (stages: ${plan.stages.join(', ')})`,
      });
  }
  const warnings = emitWarnings(plan.warnings);

  // Context files are checked by stat against the persistent stat cache; misses are explained
  // against the step history (see docs/cache.md).
  // A fetched context's files are new each build: no stat cache, and the step history is kept
  // under its source (repository, URL), not the scratch dir's name.
  const fetched = req.fetchedContext;
  const statCache = fetched
    ? StatCache.forFreshFiles(req.contextDir, hashFileFast)
    : await StatCache.load(paths.statCaches, req.contextDir, hashFileFast);
  const history = new StepHistory({
    index: new StepIndex(
      fetched
        ? stepIndexFile(paths.stepIndexes, fetched.key, fetched.dockerfileName)
        : stepIndexFile(paths.stepIndexes, req.contextDir, req.dockerfilePath ?? '-'),
    ),
    selectionsDir: paths.selectionFiles,
    contextDir: req.contextDir,
    hashes: statCache.hashes,
    buildArgs: new Set(req.buildArgs.keys()),
  });
  const namedDirs = await namedContextDirs(req, paths);
  await layoutReady;
  // byte counts of pulls, pushes and exports: a few events a second at most (transfer-progress.ts)
  const transfers = transferProgress(emit);
  const solver = new Solver(
    {
      paths,
      store,
      snapshots,
      records,
      contextDir: req.contextDir,
      ignore,
      hashFile: (abs, entry) => statCache.hashFile(abs, entry),
      fetchBlob: async (origin, desc) => {
        const pull = blobTransfer(transfers, `pull:${desc.digest}`, `pulling ${shortDigest(desc.digest)}`);
        await bases.fetchBlob(origin, desc, pull.onBytes);
        pull.finish();
      },
      emit,
      ...(signal ? { signal } : {}),
      ...(req.secrets ? { secrets: req.secrets } : {}),
      ...(req.ssh ? { ssh: req.ssh } : {}),
      // read beside the keys (context hashing): a step waits for it once its key is made
      ...(req.cacheFrom?.length ? { importedCache: importing } : {}),
      ...(namedDirs.size ? { namedContexts: namedDirs } : {}),
      ...(req.resources ? { resources: req.resources } : {}),
      ...(req.isolation === 'chroot' ? { mountFree: true } : {}),
    },
    { history, noCacheFlag: (v) => (req.noCache ? '--no-cache' : `--no-cache-filter ${v.stage}`) },
  );
  // `[internal] load build context`: a step alongside the solve, done once the steps that read the
  // context have selected (and hashed) what they take from it
  const loadingContext = targets.flatMap((t) => inputsFirst(t)).some(readsBuildContext)
    ? internalStep(
        { id: 'load:context', name: '[internal] load build context' },
        async () => (await solver.contextBytes(targets)) ?? 0,
        emit,
        signal,
        { what: 'context', bytes: (n) => n },
      ).catch(() => {})
    : undefined;
  const results = await solver.solveAll(targets).finally(async () => {
    await loadingContext;
    await statCache.save().catch(() => {});
    for (const c of namedDirs.values()) await c.statCache.save().catch(() => {});
  });

  // Layers are made per encoding an output asks for (src/snapshot/layer-reencode.ts); the state
  // dir's own layout takes whatever blob a layer has when no output asks for one.
  const outputEpoch = outputsSourceDateEpoch(req.outputs);
  const images = plans.map((p, i) => {
    const result = results[i]!;
    // an output's source-date-epoch= (empty: none), then the command line's (build arg, then
    // environment), over the Dockerfile's ARG default
    const epoch = outputEpoch !== undefined ? (outputEpoch ?? undefined) : (req.sourceDateEpoch ?? p.sourceDateEpoch);
    const layers = layerProvider(
      {
        snapshots,
        store,
        ...(signal ? { signal } : {}),
        remote: (id) => solver.remoteLayer(id),
        makePresent: (ids) => solver.makePresent(ids),
      },
      result.layers,
      epoch,
    );
    // SOURCE_DATE_EPOCH in RFC 3339 without fractions, as BuildKit writes it
    const created =
      epoch !== undefined
        ? new Date(epoch * 1000).toISOString().replace('.000Z', 'Z')
        : (result.createdAt ?? new Date().toISOString());
    return { image: { ...p.image, created }, layers };
  });
  // The cache goes first: a cache export that fails (a full disk, a registry) must not come
  // after the outputs were put in place, which a failed build never leaves.
  if (req.cacheTo?.length) {
    // the cache carries every reached step's own layer: those still remote are made present first
    await solver.makePresentReached();
    const { exportCaches } = await import('../cache/remote/cache-export.js');
    await exportCaches(req.cacheTo, {
      store,
      snapshots,
      records,
      keys: await solver.reachedKeys(),
      finalLayers: results.map((r) => r.layers),
      registry: bases.registryClient,
      stateRoot: req.stateRoot,
      emit,
      ...(signal ? { signal } : {}),
    });
  }
  const provenance = req.provenance && {
    spec: req.provenance,
    facts: await (async () => {
      const { provenanceFacts, provenanceRun } = await import('./provenance-facts.js');
      const run = provenanceRun(provenanceStart);
      const finishedOn = new Date().toISOString();
      const dockerfile = { filename: dockerfileShownName(req), data: source };
      return Promise.all(
        plans.map(async (p, i) => {
          const learned = new Map<Vertex, unknown>();
          for (const v of inputsFirst(p.target)) if (v.op.type === 'copy') learned.set(v, await solver.learnedOf(v));
          const { stepOf, ...facts } = provenanceFacts(
            req,
            run,
            p.target,
            platforms[i],
            finishedOn,
            dockerfile,
            learned,
          );
          if (req.provenance?.mode !== 'max') return facts;
          // a step whose layers begin the image's: its part of BuildKit's layer map
          const final = results[i]!.layers;
          const layerPrefixes: { step: string; count: number }[] = [];
          for (const [v, step] of stepOf) {
            const chain = await solver.layersOf(v);
            if (chain?.length && chain.every((id, k) => final[k] === id))
              layerPrefixes.push({ step, count: chain.length });
          }
          return { ...facts, layerPrefixes };
        }),
      );
    })(),
  };
  const out = await exportOutputs({
    ...(provenance ? { provenance } : {}),
    req,
    store,
    emit,
    layers: images[0]!.layers,
    image: images[0]!.image,
    ...(several ? { platforms: images } : {}),
    registry: bases.registryClient,
    fetchBlob: (digest) => solver.fetchRemoteBlob(digest),
    transfer: transfers,
    steps: () => steps.list(),
    ...(signal ? { signal } : {}),
  });
  return { manifestDigest: out.manifest.digest, configDigest: out.config.digest, exported: out.exported, warnings };
}

/** `--build-context` as the frontend takes it: images by reference, directories by name. */
function frontendContexts(specs: NonNullable<BuildRequest['namedContexts']>): Map<string, NamedContext> {
  const out = new Map<string, NamedContext>();
  for (const [name, spec] of specs) {
    if (spec.kind === 'image')
      out.set(name, spec.ref === 'scratch' ? { kind: 'scratch' } : { kind: 'image', ref: spec.ref });
    else if (spec.kind === 'oci-layout') out.set(name, { kind: 'image', ref: spec.ref });
    else out.set(name, { kind: 'local', name, ...(spec.kind === 'dir' && spec.source ? { source: spec.source } : {}) });
  }
  return out;
}

/**
 * The `--build-context` directories the solver reads, each with its own `.dockerignore` (at its
 * root, as BuildKit reads a named local context's) and stat cache (none for a fetched copy).
 */
async function namedContextDirs(
  req: BuildRequest,
  paths: StatePaths,
): Promise<Map<string, ContextDir & { statCache: StatCache }>> {
  const out = new Map<string, ContextDir & { statCache: StatCache }>();
  for (const [name, spec] of req.namedContexts ?? []) {
    if (spec.kind !== 'dir') continue;
    const statCache = spec.fetched
      ? StatCache.forFreshFiles(spec.dir, hashFileFast)
      : await StatCache.load(paths.statCaches, spec.dir, hashFileFast);
    out.set(name, {
      dir: spec.dir,
      ignore: await loadDockerignore(spec.dir, undefined),
      hashFile: (abs, entry) => statCache.hashFile(abs, entry),
      statCache,
    });
  }
  return out;
}

/** The Dockerfile's name in `[internal] load build definition from NAME`: its base name, as BuildKit's. */
function dockerfileShownName(req: BuildRequest): string {
  const named = req.fetchedContext?.dockerfileName ?? req.dockerfilePath;
  return named ? basename(named) : 'Dockerfile';
}
