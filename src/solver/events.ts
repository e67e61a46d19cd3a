/** What the solver tells the progress renderers. Renderers never change build state. */
export interface VertexInfo {
  id: string;
  name: string;
}

export type SolverEvent =
  | { type: 'vertex.start'; vertex: VertexInfo; time: number; reason?: string }
  | { type: 'vertex.cached'; vertex: VertexInfo; time: number }
  | { type: 'vertex.log'; vertex: VertexInfo; time: number; stream: 'stdout' | 'stderr'; data: string }
  | { type: 'vertex.done'; vertex: VertexInfo; time: number; durationMs: number }
  | { type: 'vertex.error'; vertex: VertexInfo; time: number; message: string }
  | { type: 'status'; time: number; message: string; done?: boolean; durationMs?: number }
  | { type: 'warning'; time: number; message: string };

export type EventSink = (e: SolverEvent) => void;
