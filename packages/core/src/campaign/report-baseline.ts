/** The HTML report's section on the baseline: counts, then every fault whose outcome changed. */
import type { CampaignComparison } from './compare.js';
import { badge, escapeHtml } from './report-html.js';

/** The section, with `data-` attributes a test (or a script) can read the numbers from. */
export function baselineSection(comparison: CampaignComparison): string {
  const worse = comparison.worse();
  const better = comparison.better();
  const counts = [
    ['worse', worse.length],
    ['better', better.length],
    ['unchanged', comparison.unchanged],
    ['new', comparison.added.length],
    ['gone', comparison.removed.length],
  ] as const;
  const rows = [...worse, ...better].map(
    (c) =>
      `<tr data-change="${c.worse ? 'worse' : 'better'}" data-id="${escapeHtml(c.id)}"><td>${c.index}</td><td>${escapeHtml(c.id)}</td><td>${badge(c.before)}</td><td>${badge(c.after)}</td><td>${escapeHtml(c.reason)}</td></tr>`,
  );
  return `<h2>Against baseline <code>${escapeHtml(comparison.baseline.name)}</code></h2>
<p id="baseline-counts">${counts.map(([k, n]) => `<span class="count" data-count="${k}">${k} <b>${n}</b></span>`).join(' · ')}</p>
${rows.length ? `<table id="baseline"><thead><tr><th>#</th><th>fault</th><th>baseline</th><th>now</th><th>reason</th></tr></thead><tbody>${rows.join('')}</tbody></table>` : '<p>No fault changed its outcome.</p>'}`;
}
