import type { ContextSelection } from '../cache/context-source.js';
import type { Vertex } from './graph.js';

/** True when the step reads the build context itself (a COPY from it, a bind mount of it), not a named one. */
export function readsBuildContext(v: Vertex): boolean {
  return buildContextIndexes(v).length > 0;
}

/** The indexes of a step's selections (COPY sources, RUN mounts) that read the build context. */
export function buildContextIndexes(v: Vertex): number[] {
  const op = v.op;
  if (op.type === 'copy')
    return op.sources.flatMap((s, i) => (s.kind === 'context' && s.context === undefined ? [i] : []));
  if (op.type === 'exec')
    return (op.mounts ?? []).flatMap((m, i) =>
      m.type === 'bind' && m.input === undefined && m.context === undefined ? [i] : [],
    );
  return [];
}

/**
 * The bytes of the context files the steps selected, each file once however many steps select it: what
 * BuildKit's `[internal] load build context` reports as `transferring context` (it sends only the paths
 * the steps name).
 */
export function selectedBytes(selections: Iterable<ContextSelection>): number {
  const sizes = new Map<string, number>();
  for (const sel of selections)
    for (const s of sel.sources)
      for (const m of s.matches)
        for (const e of [m.root, ...m.children]) if (e.type === 'file') sizes.set(e.rel, e.size);
  let total = 0;
  for (const n of sizes.values()) total += n;
  return total;
}
