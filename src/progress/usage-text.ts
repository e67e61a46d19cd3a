import { binaryBytes } from '../binary-bytes.js';
import type { StepUsage } from '../solver/events.js';

/** A RUN step's usage as the views append it to its line: `peak 31.8 MiB, cpu 1.20s`; undefined without counters. */
export function usageText(u: StepUsage): string | undefined {
  const parts = [
    ...(u.peakMemoryBytes !== undefined ? [`peak ${binaryBytes(u.peakMemoryBytes)}`] : []),
    ...(u.cpuSeconds !== undefined ? [`cpu ${u.cpuSeconds.toFixed(2)}s`] : []),
  ];
  return parts.length ? parts.join(', ') : undefined;
}
