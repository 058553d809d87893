/**
 * The HTML report's heatmaps: per target, bit position × outcome, each cell the faults that hit
 * that bit with that outcome (bit flips and stuck-at faults; other models have no bit).
 */
import { OUTCOMES } from './outcome.js';
import { escapeHtml, OUTCOME_COLOURS } from './report-html.js';
import type { FaultRecord } from './results-file.js';

const CELL = 14;
const LEFT = 70;

function bitOf(r: FaultRecord): number | undefined {
  const a = r.fault.action;
  return a.kind === 'bit-flip' || a.kind === 'stuck-at' ? a.bit : undefined;
}

/** One SVG per target with bit faults; cells carry `data-target`, `data-bit`, `data-outcome`, `data-count`. */
export function heatmapSection(records: readonly FaultRecord[]): string {
  const byTarget = new Map<string, FaultRecord[]>();
  for (const r of records) if (bitOf(r) !== undefined) byTarget.set(r.target, [...(byTarget.get(r.target) ?? []), r]);
  if (!byTarget.size) return '';
  const maps = [...byTarget].map(([target, list]) => {
    const bits = Math.max(...list.map((r) => bitOf(r)!)) + 1;
    const counts = new Map<string, number>();
    for (const r of list) counts.set(`${r.outcome}:${bitOf(r)}`, (counts.get(`${r.outcome}:${bitOf(r)}`) ?? 0) + 1);
    const most = Math.max(...counts.values());
    const width = LEFT + bits * CELL + 10;
    const height = 24 + OUTCOMES.length * CELL + 10;
    const parts: string[] = [];
    // Bit numbers along the top, most significant on the left as in a register diagram.
    for (let bit = 0; bit < bits; bit++) {
      const x = LEFT + (bits - 1 - bit) * CELL;
      if (bit % 4 === 0) parts.push(`<text class="axis" x="${x + CELL / 2}" y="16" text-anchor="middle">${bit}</text>`);
    }
    OUTCOMES.forEach((o, row) => {
      const y = 24 + row * CELL;
      parts.push(`<text class="axis" x="${LEFT - 6}" y="${y + CELL - 3}" text-anchor="end">${o}</text>`);
      for (let bit = 0; bit < bits; bit++) {
        const n = counts.get(`${o}:${bit}`) ?? 0;
        const x = LEFT + (bits - 1 - bit) * CELL;
        const fill = n ? OUTCOME_COLOURS[o] : '#f3f3f3';
        const opacity = n ? (0.25 + (0.75 * n) / most).toFixed(2) : '1';
        parts.push(
          `<rect class="heat" data-target="${escapeHtml(target)}" data-bit="${bit}" data-outcome="${o}" data-count="${n}" x="${x}" y="${y}" width="${CELL - 1}" height="${CELL - 1}" fill="${fill}" fill-opacity="${opacity}"><title>${escapeHtml(target)} bit ${bit}: ${n} ${o}</title></rect>`,
        );
      }
    });
    return `<figure class="heatmap"><figcaption>${escapeHtml(target)}</figcaption><svg data-target="${escapeHtml(target)}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="bit position by outcome of ${escapeHtml(target)}">${parts.join('')}</svg></figure>`;
  });
  return `<h2>Bit position × outcome</h2>\n<div id="heatmaps">${maps.join('')}</div>`;
}
