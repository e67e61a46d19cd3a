/** One row of the live view: its head line and the lines under it (reason, output). */
export interface FrameRow {
  /** Running or failed: kept in view before finished rows. */
  active: boolean;
  head: string;
  details: string[];
}

/**
 * The rows' lines in at most `budget` lines, in the rows' order. What gives way, in turn, as
 * BuildKit's view does: the lines under finished rows, then finished rows (oldest first), then the output under active rows (the
 * longest first, oldest lines first), then the oldest active rows themselves.
 */
export function layoutFrame(rows: FrameRow[], budget: number): string[] {
  const kept = rows.map((r) => ({ ...r, details: [...r.details], shown: true }));
  let total = kept.reduce((n, r) => n + 1 + r.details.length, 0);
  // finished rows collapse to their line, then go
  for (const r of kept) {
    if (total <= budget) break;
    if (r.active) continue;
    total -= r.details.length;
    r.details = [];
  }
  for (const r of kept) {
    if (total <= budget) break;
    if (r.active) continue;
    r.shown = false;
    total -= 1;
  }
  while (total > budget) {
    const longest = kept
      .filter((r) => r.shown && r.details.length > 0)
      .sort((a, b) => b.details.length - a.details.length)[0];
    if (!longest) break;
    longest.details.shift();
    total--;
  }
  for (const r of kept) {
    if (total <= budget) break;
    if (!r.shown) continue;
    r.shown = false;
    total--;
  }
  return kept.filter((r) => r.shown).flatMap((r) => [r.head, ...r.details]);
}
