/** Outcomes grouped by where in the source their moment was: "which lines are vulnerable". */
import { OUTCOMES, type Outcome } from './outcome.js';
import type { FaultRecord } from './results-file.js';
import type { SourceLines } from './source-lines.js';

/** One function and line, and the outcomes of the faults whose moment was there. */
export interface SourceRow {
  function: string;
  line: string;
  counts: Record<Outcome, number>;
  total: number;
}

const severity = (row: SourceRow) => OUTCOMES.map((o) => row.counts[o]);

/**
 * Rows per function and `file:line` of the records' moment pcs (records without one, or where the
 * line table has none, are left out), the most silent first, then hangs, crashes and so on.
 */
export function outcomesBySource(records: readonly FaultRecord[], lines: SourceLines): SourceRow[] {
  const rows = new Map<string, SourceRow>();
  for (const r of records) {
    const at = r.pc !== undefined ? lines.locations.get(r.pc) : undefined;
    if (!at) continue;
    const key = `${at.function}\u0000${at.line}`;
    let row = rows.get(key);
    if (!row) {
      row = {
        function: at.function,
        line: at.line,
        counts: Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>,
        total: 0,
      };
      rows.set(key, row);
    }
    row.counts[r.outcome]++;
    row.total++;
  }
  return [...rows.values()].sort((a, b) => {
    const [x, y] = [severity(a), severity(b)];
    const i = x.findIndex((v, n) => v !== y[n]);
    return i < 0 ? a.line.localeCompare(b.line) : y[i]! - x[i]!;
  });
}
