/** What every part of the HTML report shares: escaping, the outcome colours, an outcome badge. */
import type { Outcome } from './outcome.js';

/** Colours of the outcome classes (the plot, the legend and the tables use the same). */
export const OUTCOME_COLOURS: Record<Outcome, string> = {
  silent: '#d62728',
  hang: '#9467bd',
  crash: '#ff7f0e',
  detected: '#1f77b4',
  masked: '#2ca02c',
  'not-injected': '#7f7f7f',
};

/** Text as HTML (element content and attribute values alike). */
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** An outcome as a coloured label. */
export const badge = (o: Outcome) => `<span class="badge" style="background:${OUTCOME_COLOURS[o]}">${o}</span>`;
