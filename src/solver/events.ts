/** What the solver tells the progress renderers. Renderers never change build state. */
export interface VertexInfo {
  id: string;
  name: string;
}

/** What a RUN step's processes used, from its cgroup (absent where the kernel has no such counter). */
export interface StepUsage {
  /** The most memory its processes held at once (the cgroup's count, page cache included). */
  peakMemoryBytes?: number;
  /** CPU time of all its processes, user and system. */
  cpuSeconds?: number;
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
  | ({ type: 'vertex.done'; vertex: VertexInfo; time: number; durationMs: number } & StepUsage)
  | { type: 'vertex.error'; vertex: VertexInfo; time: number; message: string }
  /** Stopped because another step failed or the build was interrupted: not a failure of its own. */
  | { type: 'vertex.canceled'; vertex: VertexInfo; time: number }
  /**
   * The steps the build will report (each run or cached), known before the first one starts: the
   * `(n/m)` count's m. Base images are not among them: they show only when they are pulled.
   */
  | { type: 'plan'; time: number; vertices: VertexInfo[] }
  /**
   * Bytes moved by a transfer (a pull, a push, an export), coarse: sent when a blob finishes and
   * at most a few times a second while one is under way, never per chunk.
   */
  | {
      type: 'progress';
      time: number;
      id: string;
      name: string;
      current: number;
      total?: number;
      done?: boolean;
      /** The step the transfer is part of (`transferring dockerfile` of `[internal] load build definition`). */
      vertexId?: string;
    }
  /** The last event of a build: what it made and where it went, or why it failed. */
  | { type: 'result'; time: number; durationMs: number; result: BuildOutcome }
  | { type: 'status'; time: number; message: string; done?: boolean; durationMs?: number }
  | { type: 'warning'; time: number; message: string };

/** How a build ended, as the `result` event carries it (the JSON stream's last line, the build log's). */
export type BuildOutcome =
  | {
      ok: true;
      /** docker's image ID: the config's digest. */
      imageId: string;
      manifestDigest: string;
      names: string[];
      /** One line per output, as the CLI prints it. */
      outputs: string[];
    }
  | { ok: false; error: string; interrupted?: boolean };

export type EventSink = (e: SolverEvent) => void;
