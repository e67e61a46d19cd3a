/**
 * One build, end to end: Dockerfile → plan (frontend) → results (solver) → image (layer blobs,
 * config, manifest) → outputs (exporters). This module only wires the others together.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { CacheRecords } from '../cache/cache-records.js';
import { ContentStore } from '../cache/content-store.js';
import { StatePaths } from '../cache/state-dir.js';
import { convertDockerfile } from '../frontend/convert.js';
import { buildImage, type ImageLayerInput } from '../image/image-builder.js';
import { MediaType, type Descriptor, type DiffId, type Digest } from '../image/types.js';
import { ensureLayerBlob } from '../snapshot/layer-blobs.js';
import { SnapshotStore } from '../snapshot/snapshot-store.js';
import type { EventSink } from '../solver/events.js';
import { Solver } from '../solver/solve.js';
import { BaseImages } from './base-images.js';
import type { BuildRequest, BuildResult } from './build-request.js';
import { loadDockerignore } from './dockerignore-file.js';
import { exportOutputs } from './outputs.js';

export async function runBuild(req: BuildRequest, emit: EventSink, signal?: AbortSignal): Promise<BuildResult> {
  const paths = new StatePaths(req.stateRoot);
  await Promise.all([paths.tmp, paths.snapshots, paths.cacheRecords].map((d) => mkdir(d, { recursive: true })));
  const store = new ContentStore(paths.content);
  await store.init();
  const snapshots = new SnapshotStore(paths.snapshots);
  const records = new CacheRecords(paths.cacheRecords);

  const rel = req.dockerfilePath ? relative(process.cwd(), req.dockerfilePath) : '';
  const file = req.dockerfilePath ? (rel && !rel.startsWith('..') ? rel : req.dockerfilePath) : 'Dockerfile (stdin)';
  const source = req.dockerfileSource ?? (await readFile(req.dockerfilePath!, 'utf8'));
  const ignore = await loadDockerignore(req.contextDir, req.dockerfilePath);
  const bases = new BaseImages(store, req.contextDir);

  const plan = await convertDockerfile({
    file, source, buildArgs: req.buildArgs, ...(req.target ? { target: req.target } : {}),
    resolveImage: bases.resolve, noCache: req.noCache,
  });
  const warnings = plan.warnings.map((w) => (w.location ? `${w.location.file}:${w.location.line}: ${w.message}` : w.message));
  for (const message of warnings) emit({ type: 'warning', time: Date.now(), message });

  const solver = new Solver({
    paths, store, snapshots, records, contextDir: req.contextDir, ignore,
    fetchBlob: (origin, desc) => bases.fetchBlob(origin, desc), emit, ...(signal ? { signal } : {}),
    ...(req.secrets ? { secrets: req.secrets } : {}), ...(req.ssh ? { ssh: req.ssh } : {}),
  });
  const result = await solver.solve(plan.target);

  const started = Date.now();
  emit({ type: 'status', time: started, message: 'exporting layers' });
  const layers: ImageLayerInput[] = await Promise.all(result.layers.map(async (id, i) => {
    const rec = id.startsWith('l') ? await snapshots.readBlob(id) : await ensureLayerBlob(snapshots, store, id, result.layers.slice(0, i));
    if (!rec) throw new Error(`snapshot ${id} has no layer record`);
    return { descriptor: { mediaType: rec.mediaType, digest: rec.digest as Digest, size: rec.size }, diffId: rec.diffId as DiffId };
  }));
  const created = result.createdAt ?? new Date().toISOString();
  const image = buildImage({ ...plan.image, created, layers });
  const configDesc = await store.put(JSON.stringify(image.config), MediaType.ociConfig);
  const manifestDesc: Descriptor = await store.put(JSON.stringify(image.manifestFor(configDesc)), MediaType.ociManifest);
  emit({ type: 'status', time: Date.now(), message: 'exporting layers', done: true, durationMs: Date.now() - started });

  const exported = await exportOutputs(req, store, manifestDesc, emit);
  return { manifestDigest: manifestDesc.digest, configDigest: configDesc.digest, exported, warnings };
}
