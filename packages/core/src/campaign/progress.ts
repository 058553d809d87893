/** The campaign progress line: done/total, a bar, rate, ETA and outcome counts. */
import { OUTCOMES } from './outcome.js';
import type { CampaignProgress } from './runner.js';

/** `m:ss` (or `h:mm:ss`) for a duration in ms; `--:--` when unknown. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '--:--';
  const s = Math.round(ms / 1000);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** One line, e.g. `[########------------] 412/1152  36%  231.4/s  ETA 0:03  silent 0 hang 0 crash 2 detected 280 masked 130`. */
export function formatProgress(p: CampaignProgress, width = 20): string {
  const fraction = p.total ? p.done / p.total : 1;
  const filled = Math.round(fraction * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  // Faults whose moment never came are rare, and shown only when there are some.
  const counts = OUTCOMES.filter((o) => o !== 'not-injected' || p.counts[o])
    .map((o) => `${o} ${p.counts[o]}`)
    .join(' ');
  return `${bar} ${p.done}/${p.total} ${String(Math.floor(fraction * 100)).padStart(3)}%  ${p.ratePerSec.toFixed(1)}/s  ETA ${formatDuration(p.etaMs)}  ${counts}`;
}
