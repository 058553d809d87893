/** The HTML report's section on a sampled campaign: each outcome's rate with its confidence interval. */
import { badge } from './report-html.js';
import type { CampaignResult } from './result.js';
import { formatPercent } from './stats.js';

/** The section (empty for a campaign that ran its whole space), its numbers in `data-` attributes too. */
export function ratesSection(result: CampaignResult): string {
  const sampling = result.sampling;
  if (!sampling) return '';
  const stopped =
    sampling.stoppedAt !== undefined
      ? `, stopped after ${sampling.stoppedAt} once ${sampling.stopWhen!.outcome} was within ±${formatPercent(sampling.stopWhen!.margin)}`
      : '';
  const rows = result
    .rates()
    .map(
      (r) =>
        `<tr data-outcome="${r.outcome}" data-rate="${r.rate}" data-low="${r.low}" data-high="${r.high}"><td>${badge(r.outcome)}</td><td>${r.count}</td><td>${formatPercent(r.rate)}</td><td>${formatPercent(r.low)} – ${formatPercent(r.high)}</td></tr>`,
    );
  return `<h2>Rates (sample)</h2>
<p class="meta" id="sample">${result.records.length} faults drawn of ${sampling.population} (sample size ${sampling.size}, seed ${sampling.seed}${stopped}); Wilson intervals at ${formatPercent(sampling.confidence)} confidence, corrected for the finite space</p>
<table id="rates"><thead><tr><th>outcome</th><th>faults</th><th>rate</th><th>interval</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}
