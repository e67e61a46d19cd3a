import { createHash } from 'node:crypto';
import { selectContext } from '../../cache/context-source.js';
import { acquireRootfs } from '../../snapshot/mount-chain.js';
import type { ExecOp } from '../graph.js';
import type { SolveContext, VertexResult } from './op-context.js';

/**
 * The content of what a RUN's bind mounts take from other steps, by input index: a digest of each mounted
 * subtree (paths, types, modes, owners, link targets, file contents; no times), as BuildKit's content-based
 * cache of a mount input is. Only inputs used by bind mounts alone count: the rootfs (input 0) and a cache
 * mount's seed keep their keys. BuildKit allows this for read-only mounts and for mounts whose writes are
 * thrown away (its `rw` bind), which every bind mount here is: none is part of the step's output.
 * Undefined when there is no such mount, or a mounted path is missing (the run reports that).
 */
export async function boundContent(
  op: ExecOp,
  inputs: readonly VertexResult[],
  ctx: SolveContext,
): Promise<Map<number, string> | undefined> {
  const byInput = new Map<number, string[]>();
  const keyed = new Set<number>([0]);
  for (const m of op.mounts ?? []) {
    if (m.type === 'bind' && m.input !== undefined) byInput.set(m.input, [...(byInput.get(m.input) ?? []), m.source]);
    else if (m.type === 'cache' && m.input !== undefined) keyed.add(m.input);
  }
  for (const i of keyed) byInput.delete(i);
  if (!byInput.size) return undefined;
  const out = new Map<number, string>();
  for (const [i, sources] of byInput) {
    const result = inputs[i];
    if (!result) return undefined;
    const rootfs = await acquireRootfs(ctx, result.layers, false);
    try {
      const h = createHash('sha256');
      for (const source of [...new Set(sources)].sort()) {
        const rel = source.replace(/^\/+/, '') || '.';
        const sel = await selectContext(rootfs.path, [rel], { isIgnored: () => false });
        h.update(`${source}\0${sel.digest}\0`);
      }
      out.set(i, `sha256:${h.digest('hex')}`);
    } catch {
      return undefined;
    } finally {
      await rootfs.release();
    }
  }
  return out;
}
