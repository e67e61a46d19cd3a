import { canonicalJson } from './cache-key.js';
import { inputsFirst, type Vertex } from './graph.js';

/**
 * The graphs of one build for several platforms, with the vertices they have in common made one:
 * a vertex with the same op, name, stage and (already merged) inputs as one met before is that
 * one (its location is left out: a base image both graphs load is met first from different lines). A stage on `$BUILDPLATFORM` that reads no TARGET* arg converts to the same vertices
 * for every target, so it shows and runs once; anything that differs per platform (a base image's
 * manifest, a RUN's platform or TARGETARCH) keeps its own. Vertex ids are made unique across the
 * graphs (each conversion numbers its own from v0): `graphs[i]`'s own vertices get the prefix `p<i>.`.
 * The vertices are changed in place (their inputs and ids); the roots, merged, are returned.
 */
export function mergeGraphs(roots: readonly Vertex[]): Vertex[] {
  const byShape = new Map<string, Vertex>();
  const merged = new Map<Vertex, Vertex>();
  return roots.map((root, i) => {
    for (const v of inputsFirst(root, (w) => merged.has(w))) {
      v.inputs = v.inputs.map((u) => merged.get(u) ?? u);
      const shape = canonicalJson({
        op: v.op,
        name: v.name,
        stage: v.stage,
        noCache: !!v.noCache,
        // inputs are canonical by now: their (unique) ids name them
        inputs: v.inputs.map((u) => u.id),
      });
      const same = byShape.get(shape);
      if (same) {
        merged.set(v, same);
        continue;
      }
      if (i > 0) v.id = `p${i}.${v.id}`;
      byShape.set(shape, v);
      merged.set(v, v);
    }
    return merged.get(root)!;
  });
}
