import type { EventSink } from '../solver/events.js';

/**
 * Work shown as a step of its own, as BuildKit shows the loads it makes before the build's steps
 * (`[internal] load build definition from Dockerfile`, `[internal] load metadata for REF`): started,
 * then done, failed or canceled. `transferred` reports the bytes moved as the step's own line
 * (`transferring dockerfile: 71B done`).
 */
export async function internalStep<T>(
  vertex: { id: string; name: string },
  work: () => Promise<T>,
  emit: EventSink,
  signal: AbortSignal | undefined,
  transferred?: { what: string; bytes: (result: T) => number },
): Promise<T> {
  const start = Date.now();
  emit({ type: 'vertex.start', vertex, time: start });
  try {
    const result = await work();
    if (transferred) {
      const bytes = transferred.bytes(result);
      emit({
        type: 'progress',
        time: Date.now(),
        id: `${vertex.id}:transfer`,
        name: `transferring ${transferred.what}`,
        current: bytes,
        total: bytes,
        done: true,
        vertexId: vertex.id,
      });
    }
    emit({ type: 'vertex.done', vertex, time: Date.now(), durationMs: Date.now() - start });
    return result;
  } catch (err) {
    if (signal?.aborted) emit({ type: 'vertex.canceled', vertex, time: Date.now() });
    else
      emit({
        type: 'vertex.error',
        vertex,
        time: Date.now(),
        message: err instanceof Error ? err.message : String(err),
      });
    throw err;
  }
}
