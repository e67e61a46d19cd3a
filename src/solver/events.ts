/** What the solver tells the progress renderers. Renderers never change build state. */
export interface VertexInfo {
  id: string;
  name: string;
}

/** Why a step ran instead of being taken from the cache: one entry per input that changed. */
export type MissCause =
  | { kind: 'no-cache'; flag: string }
  | { kind: 'new-step' }
  | { kind: 'pruned' }
  | { kind: 'parent'; step: string }
  | { kind: 'source-step'; step: string }
  | { kind: 'input-result'; step: string }
  | { kind: 'base-image'; before?: string; after: string }
  | { kind: 'command'; before: string; after: string }
  | { kind: 'build-arg' | 'env'; name: string; before?: string; after?: string }
  | { kind: 'option'; field: string }
  | { kind: 'files'; added: string[]; removed: string[]; changed: string[]; unknown?: boolean }
  | { kind: 'unknown' };

export type SolverEvent =
  | { type: 'vertex.start'; vertex: VertexInfo; time: number; reason?: string; causes?: MissCause[] }
  | {
      type: 'vertex.cached';
      vertex: VertexInfo;
      time: number /** an imported cache (--cache-from) it came from */;
      from?: string;
    }
  | { type: 'vertex.log'; vertex: VertexInfo; time: number; stream: 'stdout' | 'stderr'; data: string }
  | { type: 'vertex.done'; vertex: VertexInfo; time: number; durationMs: number }
  | { type: 'vertex.error'; vertex: VertexInfo; time: number; message: string }
  | { type: 'status'; time: number; message: string; done?: boolean; durationMs?: number }
  | { type: 'warning'; time: number; message: string };

export type EventSink = (e: SolverEvent) => void;
