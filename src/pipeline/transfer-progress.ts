import type { TransferReporter } from '../exporter/exporter.js';
import type { EventSink } from '../solver/events.js';

export type { TransferReporter };
export { shortDigest } from '../exporter/transfer-names.js';

/** How often a transfer under way may be shown: a few times a second, as BuildKit's progress does. */
export const TRANSFER_INTERVAL_MS = 250;

/**
 * Byte counts as `progress` events, coarse: a transfer's first report and its end always go
 * through; between them at most one event per interval, however many chunks move meanwhile.
 */
export function transferProgress(
  emit: EventSink,
  intervalMs = TRANSFER_INTERVAL_MS,
  now: () => number = Date.now,
): TransferReporter {
  const last = new Map<string, number>();
  return (t) => {
    const time = now();
    const previous = last.get(t.id);
    if (!t.done && previous !== undefined && time - previous < intervalMs) return;
    if (t.done) last.delete(t.id);
    else last.set(t.id, time);
    emit({
      type: 'progress',
      time,
      id: t.id,
      name: t.name,
      current: t.current,
      ...(t.total !== undefined ? { total: t.total } : {}),
      ...(t.done ? { done: true } : {}),
    });
  };
}

/**
 * A registry download's `onBytes` reporting to `report`; `finish` sends the end once the blob is
 * in the store, if a download happened at all (a blob already stored moves no bytes).
 */
export function blobTransfer(
  report: TransferReporter,
  id: string,
  name: string,
): { onBytes: (done: number, total: number) => void; finish: () => void } {
  let last: { current: number; total: number } | undefined;
  return {
    onBytes: (current, total) => {
      last = { current, total };
      report({ id, name, current, total });
    },
    finish: () => {
      if (last) report({ id, name, current: last.total, total: last.total, done: true });
    },
  };
}
