/**
 * The op kinds the frontend's graphs are made of. Runners (and what they load: the executor,
 * the unpacker, tar code) are imported when a step actually runs: a cached build never pays
 * for loading them.
 */
import type { CopyOp } from '../graph.js';
import type { OpKinds, StepKind } from '../op-kind.js';
import type { Remote } from './copy-sources.js';
import { baseLayerSnapshotId } from '../../snapshot/snapshot-id.js';
import { imageLayers } from './image-layers.js';

/** A COPY's key resolves its URL and git sources: the run uses what it found (the download, the commit). */
const copy: StepKind<CopyOp, Map<number, Remote>> = {
  cacheable: true,
  async key(op, ctx) {
    const { selectContextSources } = await import('./copy-sources.js');
    const { selections, remotes } = await selectContextSources(op, ctx);
    return { op: withoutGitChecksums(op), selections, learned: remotes };
  },
  run: async (v, op, run) => (await import('./run-copy.js')).runCopy(v, op, run),
};

/**
 * A git source's --checksum (or `?commit=`) only checks the commit its ref resolves to, and the key has that
 * commit already (keyGit): it is left out, so adding a checksum equal to the commit keeps the cache (BuildKit's
 * testAddGitChecksumCache).
 */
function withoutGitChecksums(op: CopyOp): CopyOp {
  if (!op.sources.some((s) => s.kind === 'git' && s.checksum !== undefined)) return op;
  return { ...op, sources: op.sources.map((s) => (s.kind === 'git' ? { ...s, checksum: undefined } : s)) };
}

export const opKinds: OpKinds = {
  scratch: {
    cacheable: false,
    key: (op) => ({ op }),
    result: () => ({ layers: [] }),
    materialize: async () => ({ layers: [] }),
    missingReason: 'scratch has no layers',
  },
  image: {
    cacheable: false,
    // the manifest names the image's content; ref and origin say only where it came from
    key: (op) => ({ op: { type: 'image', manifest: op.manifestDigest } }),
    result: imageLayers,
    layerBlobs: (op) =>
      op.layers.map((l) => ({
        id: baseLayerSnapshotId(l.diffId),
        blob: {
          digest: l.descriptor.digest,
          size: l.descriptor.size,
          mediaType: l.descriptor.mediaType,
          diffId: l.diffId,
        },
      })),
    async fetchLayerBlob(op, id, ctx) {
      const layer = op.layers.find((l) => baseLayerSnapshotId(l.diffId) === id);
      if (!layer) throw new Error(`${op.ref} has no layer ${id}`);
      await ctx.fetchBlob(op.origin, layer.descriptor);
    },
    materialize: async (op, ctx) => (await import('./run-image.js')).runImage(op, ctx),
    missingReason: 'base image layers not unpacked yet',
    shownWhenPresent: true,
  },
  exec: {
    cacheable: true,
    async key(op, ctx) {
      // A proxy setting changes how a RUN reaches the network, not what it builds (BuildKit agrees).
      const keyed = op.proxyEnv ? { ...op, proxyEnv: undefined } : op;
      if (!op.mounts) return { op: keyed };
      const { selectBindSources } = await import('./exec-mounts.js');
      return { op: keyed, selections: await selectBindSources(op, ctx) };
    },
    // a bind mount of another step's files is keyed by their content too (mount-content.ts)
    inputContent: async (op, inputs, ctx) =>
      op.mounts?.some((m) => m.type === 'bind' && m.input !== undefined)
        ? (await import('./mount-content.js')).boundContent(op, inputs, ctx)
        : undefined,
    run: async (v, op, run) => (await import('./run-exec.js')).runExec(v, op, run),
  },
  copy,
  mkdir: {
    cacheable: true,
    key: (op) => ({ op }),
    run: async (_v, op, run) => (await import('./run-mkdir.js')).runMkdir(op, run),
  },
};
