/**
 * The op contract: what the solver needs of each kind of op, so it never asks an op its type.
 * An op kind says what its cache key is made of, whether it is a cached step or a source whose
 * result follows from the op itself, and how it runs. The table of kinds is ops/kinds.ts.
 */
import type { ContextSelection } from '../cache/context-source.js';
import type { Op, Vertex } from './graph.js';
import type { OpRun, SolveContext, VertexResult } from './ops/op-context.js';

/** What an op's cache key is made of, besides its inputs' keys, and what computing it learned. */
export interface OpKey<L = unknown> {
  /** The op as its key sees it (what does not change the result is left out). */
  op: unknown;
  /** What the key reads from outside the graph, by index (context files, URLs, git refs): their digests are its content. */
  selections?: Map<number, ContextSelection>;
  /** Whatever else key computation learned that running the op needs (a download, a resolved commit). */
  learned?: L;
}

interface KindKey<O extends Op, L> {
  key(op: O, ctx: SolveContext): OpKey<L> | Promise<OpKey<L>>;
}

/**
 * A source (scratch, a base image): its result follows from the op, so it has no cache record
 * and is never exported; what is missing of its layers is made present under its key's lock.
 */
export interface SourceKind<O extends Op, L = unknown> extends KindKey<O, L> {
  cacheable: false;
  result(op: O): VertexResult;
  /** The blobs of the result's layers, by snapshot id, for a layer an output takes without its snapshot. */
  layerBlobs?(op: O): { id: string; blob: { digest: string; size: number; mediaType: string; diffId: string } }[];
  /** Downloads the blob of one of the result's layers (see layerBlobs) without unpacking it. */
  fetchLayerBlob?(op: O, id: string, ctx: SolveContext): Promise<void>;
  /** Makes the result's missing layers present (pull, unpack). */
  materialize(op: O, ctx: SolveContext): Promise<VertexResult>;
  /** Why it runs, on its progress line. */
  missingReason: string;
  /** Shown as a step (CACHED) when its layers are already present, as BuildKit shows `FROM …` (not scratch). */
  shownWhenPresent?: boolean;
}

/** A step: found by its key in the cache records; on a miss it runs and makes one layer. */
export interface StepKind<O extends Op, L = unknown> extends KindKey<O, L> {
  cacheable: true;
  /**
   * A second key for a step whose key misses, once its inputs are there: digests of what it takes from some
   * inputs (by index), which stand for those inputs' keys (BuildKit's content-based cache of mounts).
   */
  inputContent?(op: O, inputs: readonly VertexResult[], ctx: SolveContext): Promise<Map<number, string> | undefined>;
  run(v: Vertex, op: O, run: OpRun<L>): Promise<VertexResult>;
}

export type OpKind<O extends Op, L = unknown> = SourceKind<O, L> | StepKind<O, L>;

/** One kind per op type. */
export type OpKinds = { [T in Op['type']]: OpKind<Extract<Op, { type: T }>> };

/** The one place an op's type is looked at. */
export function kindOf(kinds: OpKinds, op: Op): OpKind<Op> {
  return kinds[op.type] as OpKind<Op>;
}
