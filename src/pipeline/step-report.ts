import type { SolverEvent } from '../solver/events.js';

/** One step of the build as `--metadata-file` lists it under `tsbuild.steps`. */
export interface StepRecord {
  name: string;
  /** Set for a step taken from the cache (it did not run: no time or usage of its own). */
  cached?: true;
  durationMs?: number;
  /** RUN steps: from their cgroup, where the kernel keeps the counter. */
  peakMemoryBytes?: number;
  cpuSeconds?: number;
}

/**
 * The build's steps (those of the solver's plan, in its order) with what each took, learned from
 * the progress events, so CI can see which step is heavy.
 */
export class StepReport {
  private readonly planned: string[] = [];
  private readonly steps = new Map<string, StepRecord>();

  observe(e: SolverEvent): void {
    if (e.type === 'plan') this.planned.push(...e.vertices.map((v) => v.id));
    else if (e.type === 'vertex.cached') this.steps.set(e.vertex.id, { name: e.vertex.name, cached: true });
    else if (e.type === 'vertex.done')
      this.steps.set(e.vertex.id, {
        name: e.vertex.name,
        durationMs: e.durationMs,
        ...(e.peakMemoryBytes !== undefined ? { peakMemoryBytes: e.peakMemoryBytes } : {}),
        ...(e.cpuSeconds !== undefined ? { cpuSeconds: Math.round(e.cpuSeconds * 1000) / 1000 } : {}),
      });
  }

  list(): StepRecord[] {
    return [...new Set(this.planned)].flatMap((id) => {
      const step = this.steps.get(id);
      return step ? [step] : [];
    });
  }
}
