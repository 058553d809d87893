/**
 * Reports: the result as one JSON document, and a self-contained HTML page (no external assets):
 * outcome filters, rates with intervals (sampled campaigns), the baseline difference, per target
 * a bit position × outcome heatmap, outcomes by target × moment (inline SVG), outcomes per
 * function and source line, and a table of every fault, sortable by any column (outcome by
 * severity), each row with where it struck and the command that reproduces it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CampaignComparison } from './compare.js';
import { OUTCOMES } from './outcome.js';
import { baselineSection } from './report-baseline.js';
import { heatmapSection } from './report-heatmap.js';
import { badge, escapeHtml, OUTCOME_COLOURS } from './report-html.js';
import { linesSection, whereCell } from './report-lines.js';
import { ratesSection } from './report-rates.js';
import type { CampaignResult } from './result.js';
import type { SourceLines } from './source-lines.js';
import { outcomesBySource } from './source-table.js';

export { OUTCOME_COLOURS } from './report-html.js';

/** What the report shows besides the result. */
export interface ReportOptions {
  /** The difference from a baseline (see `CampaignResult.compare`). */
  comparison?: CampaignComparison | undefined;
  /** Source locations of the records' pcs (`writeCampaignReport` looks them up: `result.sourceLines()`). */
  sourceLines?: SourceLines | undefined;
}

const CELL_W = 120;
const CELL_H = 26;
const LEFT = 170;
const TOP = 90;

/** The plot: one row per target, one column per moment, each cell a bar split by outcome. */
function plot(result: CampaignResult): string {
  const targets = [...new Set(result.records.map((r) => r.target))];
  const moments = [...new Set(result.records.map((r) => r.moment))];
  const width = LEFT + moments.length * CELL_W + 20;
  const height = TOP + targets.length * CELL_H + 40;
  const parts: string[] = [];
  moments.forEach((m, j) => {
    const x = LEFT + j * CELL_W + CELL_W / 2;
    parts.push(`<text class="axis" x="${x}" y="${TOP - 10}" transform="rotate(-30 ${x} ${TOP - 10})">${escapeHtml(m)}</text>`);
  });
  targets.forEach((t, i) => {
    const y = TOP + i * CELL_H;
    parts.push(`<text class="axis" x="${LEFT - 8}" y="${y + CELL_H / 2 + 4}" text-anchor="end">${escapeHtml(t)}</text>`);
    moments.forEach((m, j) => {
      const counts = result.counts({ target: t, moment: m });
      const n = OUTCOMES.reduce((sum, o) => sum + counts[o], 0);
      const x0 = LEFT + j * CELL_W + 2;
      if (!n) {
        parts.push(`<rect class="empty" x="${x0}" y="${y + 2}" width="${CELL_W - 4}" height="${CELL_H - 4}"/>`);
        return;
      }
      let x = x0;
      for (const o of OUTCOMES) {
        if (!counts[o]) continue;
        const w = ((CELL_W - 4) * counts[o]) / n;
        parts.push(
          `<rect class="cell" data-outcome="${o}" data-target="${escapeHtml(t)}" data-moment="${escapeHtml(m)}" data-count="${counts[o]}" x="${x.toFixed(2)}" y="${y + 2}" width="${w.toFixed(2)}" height="${CELL_H - 4}" fill="${OUTCOME_COLOURS[o]}"><title>${escapeHtml(t)} @ ${escapeHtml(m)}: ${counts[o]} ${o} of ${n}</title></rect>`,
        );
        x += w;
      }
    });
  });
  return `<svg id="plot" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="outcome by target and moment">${parts.join('')}</svg>`;
}

/** The legend, each outcome with a checkbox that shows or hides its faults in the table and the heatmaps. */
function legend(result: CampaignResult): string {
  const counts = result.counts();
  return OUTCOMES.map(
    (o) =>
      `<label class="legend" data-outcome="${o}"><input type="checkbox" class="filter" value="${o}" checked><span class="swatch" style="background:${OUTCOME_COLOURS[o]}"></span>${o} <b>${counts[o]}</b></label>`,
  ).join('');
}

function table(result: CampaignResult, lines: SourceLines | undefined): string {
  const rows = result.records.map((r) => {
    const time = r.timeNs ?? '';
    return `<tr data-outcome="${r.outcome}"><td>${r.index}</td><td>${escapeHtml(r.target)}</td><td>${escapeHtml(r.action)}</td><td>${escapeHtml(r.moment)}</td><td data-sort="${OUTCOMES.indexOf(r.outcome)}">${badge(r.outcome)}</td><td>${escapeHtml(r.reason)}</td>${whereCell(r, lines)}<td>${time}</td><td><code class="reproduce">${escapeHtml(result.reproduceCommand(r.id))}</code></td></tr>`;
  });
  const headers = [
    ['#', 'number'],
    ['target', 'text'],
    ['fault', 'text'],
    ['moment', 'text'],
    ['outcome', 'severity'],
    ['reason', 'text'],
    ['where', 'text'],
    ['end (ns)', 'number'],
    ['reproduce', 'text'],
  ];
  return `<table id="faults"><thead><tr>${headers.map(([h, kind], i) => `<th data-col="${i}" data-kind="${kind}"><button type="button">${h}</button></th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

// Outcome filters (the legend's checkboxes hide the faults of an outcome in the table and the
// heatmaps); sorting by column, outcome by severity (worst first), a second click reverses.
const SCRIPT = `
for (const box of document.querySelectorAll('input.filter')) {
  box.addEventListener('change', () => {
    for (const el of document.querySelectorAll('#faults tbody tr[data-outcome="' + box.value + '"], #heatmaps rect[data-outcome="' + box.value + '"]'))
      el.classList.toggle('filtered', !box.checked);
  });
}
for (const th of document.querySelectorAll('#faults th')) {
  th.addEventListener('click', () => {
    const table = th.closest('table');
    const body = table.tBodies[0];
    const col = Number(th.dataset.col);
    const kind = th.dataset.kind;
    const dir = th.dataset.dir === 'asc' ? 'desc' : 'asc';
    for (const other of table.querySelectorAll('th')) delete other.dataset.dir;
    th.dataset.dir = dir;
    const key = (row) => {
      const cell = row.cells[col];
      if (kind === 'severity') return Number(cell.dataset.sort);
      if (kind === 'number') return cell.textContent === '' ? Infinity : Number(cell.textContent);
      return cell.textContent;
    };
    const rows = [...body.rows].map((row, i) => [row, key(row), i]);
    rows.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[2] - b[2]) * (dir === 'asc' ? 1 : -1));
    for (const [row] of rows) body.appendChild(row);
  });
}`;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } .meta { color: #666; }
.legend { margin-right: 16px; white-space: nowrap; } .swatch { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
svg .axis { font-size: 12px; fill: #333; } svg .empty { fill: #eee; }
table { border-collapse: collapse; margin-top: 16px; } th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th button { font: inherit; font-weight: bold; background: none; border: 0; cursor: pointer; padding: 0; }
th[data-dir=asc] button::after { content: ' ▲'; } th[data-dir=desc] button::after { content: ' ▼'; }
.badge { color: #fff; border-radius: 3px; padding: 0 6px; }
code.reproduce { font-size: 11px; color: #555; user-select: all; }
.filtered { display: none; } label.legend { cursor: pointer; } .where { font-size: 12px; }
figure.heatmap { display: inline-block; margin: 0 24px 12px 0; } figcaption { font-weight: bold; }
td.n { text-align: right; } td.n.silent { color: #d62728; font-weight: bold; }`;

/** The HTML report as one string. */
export function renderHtmlReport(result: CampaignResult, options: ReportOptions = {}): string {
  const golden = result.golden
    .map(
      (g) =>
        `<li>${escapeHtml(g.moment)}: moment at ${g.momentNs} ns, window to ${g.endNs} ns, ended by ${escapeHtml(g.evidence.end)}${g.evidence.exitCode !== undefined ? ` (exit ${g.evidence.exitCode})` : ''}</li>`,
    )
    .join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Fault campaign ${escapeHtml(result.name)}</title><style>${STYLE}</style></head>
<body>
<h1>Fault campaign <code>${escapeHtml(result.name)}</code></h1>
<p class="meta">${result.records.length} of ${result.expected} faults${result.expected < result.total ? ` (of ${result.total} in the campaign)` : ''}${result.complete ? '' : ' — incomplete'} · fingerprint ${escapeHtml(result.fingerprint)}</p>
<p id="legend">${legend(result)}</p>
${ratesSection(result)}
${options.comparison ? baselineSection(options.comparison) : ''}
${heatmapSection(result.records)}
<h2>Outcome by target × moment</h2>
${plot(result)}
${linesSection(result.records, options.sourceLines)}
<h2>Golden runs</h2><ul>${golden}</ul>
<h2>Faults</h2>
${table(result, options.sourceLines)}
<script>${SCRIPT}</script>
</body></html>
`;
}

/** Writes the JSON and/or HTML report (creating directories as needed). */
export async function writeCampaignReport(
  result: CampaignResult,
  paths: { json?: string; html?: string },
  options: ReportOptions = {},
): Promise<void> {
  const sourceLines = options.sourceLines ?? (await result.sourceLines());
  if (paths.json) {
    await mkdir(dirname(paths.json), { recursive: true });
    const json = {
      ...result.toJSON(),
      ...(options.comparison ? { comparison: options.comparison } : {}),
      sourceLines: sourceLines.missing
        ? { missing: sourceLines.missing }
        : {
            tool: sourceLines.tool,
            byPc: Object.fromEntries(sourceLines.locations),
            byLine: outcomesBySource(result.records, sourceLines),
          },
    };
    await writeFile(paths.json, `${JSON.stringify(json, null, 1)}\n`);
  }
  if (paths.html) {
    await mkdir(dirname(paths.html), { recursive: true });
    await writeFile(paths.html, renderHtmlReport(result, { ...options, sourceLines }));
  }
}
