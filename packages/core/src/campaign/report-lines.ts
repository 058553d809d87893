/** The HTML report's table of outcomes per function and source line, and the location cells of the fault table. */
import { OUTCOMES } from './outcome.js';
import { escapeHtml } from './report-html.js';
import type { FaultRecord } from './results-file.js';
import type { SourceLines } from './source-lines.js';
import { outcomesBySource } from './source-table.js';

const shortFile = (line: string) => line.replace(/^.*\//, '');

/** The table (or why there is none), rows carrying `data-function`, `data-line` and per-outcome `data-` counts. */
export function linesSection(records: readonly FaultRecord[], lines: SourceLines | undefined): string {
  if (!lines) return '';
  if (lines.missing) return `<h2>By source line</h2><p class="meta" id="lines-missing">No source lines: ${escapeHtml(lines.missing)}</p>`;
  const rows = outcomesBySource(records, lines).map(
    (row) =>
      `<tr data-function="${escapeHtml(row.function)}" data-line="${escapeHtml(row.line)}" ${OUTCOMES.map((o) => `data-${o}="${row.counts[o]}"`).join(' ')} data-total="${row.total}"><td><code>${escapeHtml(row.function)}</code></td><td title="${escapeHtml(row.line)}">${escapeHtml(shortFile(row.line))}</td>${OUTCOMES.map((o) => `<td class="n${row.counts[o] ? ` ${o}` : ''}">${row.counts[o]}</td>`).join('')}<td class="n">${row.total}</td></tr>`,
  );
  return `<h2>By source line</h2>
<p class="meta">Where each fault's moment was (${escapeHtml(lines.tool ?? '')}), the most silent lines first.</p>
<table id="lines"><thead><tr><th>function</th><th>line</th>${OUTCOMES.map((o) => `<th>${o}</th>`).join('')}<th>total</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** A record's source location for the fault table: the moment's, and for crashes and hangs where it ended. */
export function whereCell(r: FaultRecord, lines: SourceLines | undefined): string {
  const at = (pc: number | undefined) => (pc !== undefined ? lines?.locations.get(pc) : undefined);
  const moment = at(r.pc);
  const end = r.outcome === 'crash' || r.outcome === 'hang' ? at(r.endPc) : undefined;
  const parts = [
    moment ? `<code>${escapeHtml(moment.function)}</code> ${escapeHtml(shortFile(moment.line))}` : '',
    end ? `ended in <code>${escapeHtml(end.function)}</code> ${escapeHtml(shortFile(end.line))}` : '',
  ].filter(Boolean);
  return `<td class="where">${parts.join('<br>')}</td>`;
}
