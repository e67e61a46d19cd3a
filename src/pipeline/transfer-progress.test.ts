import { describe, expect, it } from 'vitest';
import type { SolverEvent } from '../solver/events.js';
import { blobTransfer, transferProgress } from './transfer-progress.js';

describe('transferProgress', () => {
  it('passes a transfer’s first report and its end, and at most one report per interval between', () => {
    const events: SolverEvent[] = [];
    let now = 0;
    const report = transferProgress(
      (e) => events.push(e),
      250,
      () => now,
    );
    const pull = blobTransfer(report, 'pull:a', 'pulling a');
    // a thousand chunks in one second
    for (let i = 0; i <= 1000; i++) {
      now = i;
      pull.onBytes(i * 1000, 1_000_000);
    }
    pull.finish();
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeLessThanOrEqual(6);
    expect(progress[0]).toMatchObject({ id: 'pull:a', current: 0, total: 1_000_000 });
    expect(progress.at(-1)).toMatchObject({ id: 'pull:a', current: 1_000_000, total: 1_000_000, done: true });
    expect(progress.filter((e) => e.done)).toHaveLength(1);
  });

  it('keeps transfers apart, and says nothing of a blob that needed no download', () => {
    const events: SolverEvent[] = [];
    const report = transferProgress(
      (e) => events.push(e),
      250,
      () => 0,
    );
    const a = blobTransfer(report, 'a', 'a');
    const b = blobTransfer(report, 'b', 'b');
    const stored = blobTransfer(report, 'c', 'c');
    a.onBytes(0, 10);
    b.onBytes(0, 20);
    a.finish();
    b.finish();
    stored.finish();
    expect(events.map((e) => (e.type === 'progress' ? `${e.id} ${e.current}${e.done ? ' done' : ''}` : ''))).toEqual([
      'a 0',
      'b 0',
      'a 10 done',
      'b 20 done',
    ]);
  });
});
