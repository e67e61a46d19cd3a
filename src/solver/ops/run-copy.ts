import { selectContext, type ContextSelection } from '../../cache/context-source.js';
import { UserError } from '../../errors.js';
import { resolveUser } from '../../executor/user.js';
import { join } from 'node:path';
import { looksLikeArchive } from '../../snapshot/archive-sniff.js';
import { copyIntoRoot, type CopyRequest } from '../../snapshot/copy-files.js';
import type { CopyOp, Vertex } from '../graph.js';
import type { OpRun, VertexResult } from './op-context.js';
import { withRootfs } from './with-rootfs.js';

/** Selects a COPY's sources in the build context: done while computing the key, reused to copy. */
export async function selectContextSources(op: CopyOp, run: Pick<OpRun, 'ctx'>): Promise<Map<number, ContextSelection>> {
  const out = new Map<number, ContextSelection>();
  for (const [i, s] of op.sources.entries()) {
    if (s.kind !== 'context') continue;
    out.set(i, await selectContext(run.ctx.contextDir, s.paths, {
      isIgnored: run.ctx.ignore.isIgnored,
      ...(run.ctx.ignore.canSkipDir ? { canSkipDir: run.ctx.ignore.canSkipDir } : {}),
      ...(run.ctx.hashFile ? { hashFile: run.ctx.hashFile } : {}),
      exclude: op.exclude,
    }));
  }
  return out;
}

export async function runCopy(vertex: Vertex, op: CopyOp, run: OpRun): Promise<VertexResult> {
  const { ctx } = run;
  const parent = run.inputs[0]!.layers;
  const pending = await ctx.snapshots.prepare(run.snapshotId);
  try {
    await withRootfs(ctx, parent, pending, async (destRoot) => {
      const owner = op.chown ? await resolveUser(destRoot, op.chown, `COPY --chown=${op.chown}`, false) : undefined;
      const req: CopyRequest = {
        destRoot,
        dest: op.dest,
        sources: [],
        inline: op.sources.filter((s) => s.kind === 'inline').map((s) => ({ name: s.name, content: s.content })),
        preserveOwner: op.preserveOwner,
        ...(owner ? { owner: { uid: owner.uid, gid: owner.gid } } : {}),
        ...(op.chmod !== undefined ? { chmod: op.chmod } : {}),
      };
      const vertexSources = op.sources.flatMap((s, i) => (s.kind === 'vertex' ? [{ s, i }] : []));
      for (const [i, s] of op.sources.entries()) {
        if (s.kind === 'context') req.sources.push({ srcRoot: ctx.contextDir, matches: run.selections.get(i)!.sources.flatMap((x) => x.matches) });
      }
      const copyFromVertices = async (k: number): Promise<void> => {
        if (k >= vertexSources.length) {
          if (op.unpackArchives) await refuseArchives(req);
          await copyIntoRoot(req);
          return;
        }
        const { s } = vertexSources[k]!;
        if (s.kind !== 'vertex') return;
        await withRootfs(ctx, run.inputs[s.input]!.layers, undefined, async (srcRoot) => {
          const sel = await selectContext(srcRoot, s.paths, { isIgnored: () => false, exclude: op.exclude, hashFile: async () => '' });
          req.sources.push({ srcRoot, matches: sel.sources.flatMap((x) => x.matches) });
          await copyFromVertices(k + 1);
        });
      };
      try {
        await copyFromVertices(0);
      } catch (err) {
        if (err instanceof UserError && !err.location && vertex.location) {
          throw new UserError(`${vertex.name}: ${err.message}`, { location: vertex.location, ...(err.hint ? { hint: err.hint } : {}) });
        }
        throw err;
      }
    });
    await ctx.snapshots.commit(pending);
  } catch (err) {
    await ctx.snapshots.discard(pending);
    throw err;
  }
  return { layers: [...parent, run.snapshotId] };
}

/** ADD extracts local archives; until extraction exists, refuse rather than copy the archive file. */
async function refuseArchives(req: CopyRequest): Promise<void> {
  for (const source of req.sources) {
    for (const m of source.matches) {
      if (m.root.type === 'file' && (await looksLikeArchive(join(source.srcRoot, m.root.rel)))) {
        throw new UserError(`ADD ${m.name}: extracting local archives is not supported yet`, {
          hint: 'COPY the archive and extract it in a RUN step (RUN tar -xf …), or use ADD --unpack=false to copy it as a file',
        });
      }
    }
  }
}
