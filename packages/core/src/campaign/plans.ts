/**
 * How a campaign's fault runs start and end. Moments are grouped into plans: one per time moment
 * and per pc or data moment given by hand, and one per cluster of trace moments (`executed()`,
 * `accessed()`: neighbours in execution order). Each plan starts from a place — a snapshot before
 * its first moment (or the boot) — and counts the hits of its moments from there.
 */
import { CampaignConfigError } from '../errors.js';
import type { ResolvedCampaign } from './definition.js';
import type { ResolvedMoment } from './enumerate.js';
import type { GoldenPass } from './golden-pass.js';
import type { TracedMoment } from './trace-moments.js';

/** A state runs can start from: a snapshot (`tag`), or the boot (no tag). */
export interface Place {
  tag?: string;
  /** Guest time there (exact: a stopped VM). */
  ns: number;
  /** Instructions started since boot (the golden pass's numbering). */
  position: number;
  /** Serial output from boot to there (evidence covers the whole run). */
  serial: string;
}

/** The boot, as a place. */
export const BOOT: Place = { ns: 0, position: 0, serial: '' };

/** Where a plan's place must come before: a guest time (time moments) or a position (pc and data moments). */
export type Deadline = { ns: number } | { position: number };

/** One group of moments that share a start and an end. */
export interface MomentPlan {
  /** Names the plan (and its golden record when runs have a budget). */
  key: string;
  moments: ResolvedMoment[];
  /** Trace moments: their positions (instructions since boot), for hits counted from a place. */
  traced?: Map<string, number>;
  before: Deadline;
  /** Where the runs start (set by the recording pass; the boot without snapshots). */
  place: Place;
  /** Guest time the runs are cut at; undefined: `budgetNs` after the moment's own (exact) freeze — time moments. */
  endNs: number | undefined;
}

/** Trace moments further apart than this (instructions) go to different clusters, each with its own snapshot. */
export const CLUSTER_SPAN = 10_000;
/** At most this many clusters (snapshots) for the trace moments: beyond it, clusters grow. */
export const MAX_CLUSTERS = 64;
const MIN_HANG_MARGIN_NS = 1_000_000;

/** The icount shift of the campaign's QEMUs (one instruction = 2^shift ns of guest time). */
export function shiftOf(campaign: ResolvedCampaign): number {
  const time = campaign.session.launch.time;
  return time === false ? 0 : (time?.shift ?? 0);
}

/** Whether runs of `plan` can start at `place`. */
export function startsAt(plan: MomentPlan, place: Place): boolean {
  return 'ns' in plan.before ? place.ns < plan.before.ns : place.position < plan.before.position;
}

/**
 * Counts executions before a place, per pc and per watched range, over everything the golden pass
 * traced: a trace moment's hit counted from a place is its hit less the earlier ones.
 */
export class HitCounter {
  private readonly positions = new Map<string, number[]>();

  constructor(traced: Iterable<TracedMoment>) {
    for (const { moment, position } of traced) {
      const group = groupOf(moment);
      const list = this.positions.get(group) ?? [];
      list.push(position);
      this.positions.set(group, list);
    }
    for (const list of this.positions.values()) list.sort((a, b) => a - b);
  }

  /** The hit of `moment` counted from `place` (its own hit for moments not traced, which plans start before the first hit of). */
  hitFrom(moment: ResolvedMoment, place: Place, traced: boolean): number | undefined {
    if (moment.kind === 'time') return undefined;
    if (!traced || place.position === 0) return moment.hit;
    const list = this.positions.get(groupOf(moment)) ?? [];
    // An access is seen after its instruction started: at a stop at `position`, those up to it are done.
    const earlier = moment.kind === 'access' ? list.filter((p) => p <= place.position) : list.filter((p) => p < place.position);
    return moment.hit - earlier.length;
  }
}

function groupOf(m: ResolvedMoment): string {
  return m.kind === 'pc' ? `pc ${m.pc}` : m.kind === 'access' ? `${m.access} ${m.address}+${m.length}` : 'time';
}

/** The end of runs: the budget after `momentNs`, or the golden end plus as much again (at least 1 ms). */
function endOf(campaign: ResolvedCampaign, pass: GoldenPass, momentNs: number): number {
  const budget = campaign.definition.budgetNs;
  if (budget !== undefined) return momentNs + budget;
  if (!pass.ended) throw new CampaignConfigError('the golden run does not exit within maxGuestNs; give the campaign a budgetNs');
  return pass.endNs + Math.max(MIN_HANG_MARGIN_NS, pass.endNs - momentNs);
}

/**
 * Plans the runs of `moments` (the pending ones). Plans of trace clusters get their end once the
 * recording pass has placed them (see `settleEnds`); without a budget it is known now.
 */
export function planMoments(campaign: ResolvedCampaign, moments: readonly ResolvedMoment[], pass: GoldenPass): MomentPlan[] {
  const tracedPosition = new Map<string, number>();
  for (const list of pass.traced.values()) for (const t of list) tracedPosition.set(t.moment.key, t.position);
  const plans: MomentPlan[] = [];
  const traced: Array<{ moment: ResolvedMoment; position: number }> = [];
  for (const moment of moments) {
    const position = tracedPosition.get(moment.key);
    if (position !== undefined) {
      traced.push({ moment, position });
      continue;
    }
    const momentNs = moment.kind === 'time' ? moment.ns : pass.momentNs.get(moment.key)!;
    const before: Deadline = moment.kind === 'time' ? { ns: moment.ns } : { position: pass.firstPosition.get(moment.key)! };
    // A time moment freezes at the first instruction at or after its time, which an idle guest may
    // reach much later: its budget counts from that freeze (exact), the same in every run.
    const fromFreeze = moment.kind === 'time' && campaign.definition.budgetNs !== undefined;
    plans.push({
      key: moment.key,
      moments: [moment],
      before,
      place: BOOT,
      endNs: fromFreeze ? undefined : endOf(campaign, pass, momentNs),
    });
  }
  traced.sort((a, b) => a.position - b.position);
  if (!traced.length) return plans;
  const span = Math.max(CLUSTER_SPAN, Math.ceil((traced.at(-1)!.position - traced[0]!.position + 1) / MAX_CLUSTERS));
  let cluster: typeof traced = [];
  const close = () => {
    const first = cluster[0]!;
    const last = cluster.at(-1)!;
    plans.push({
      key: `${first.moment.key}..${last.moment.key}`,
      moments: cluster.map((t) => t.moment),
      traced: new Map(cluster.map((t) => [t.moment.key, t.position])),
      before: { position: first.position },
      place: BOOT,
      // Without a budget, independent of the place (so a run ends alike from a snapshot and from the boot).
      endNs: campaign.definition.budgetNs === undefined ? endOf(campaign, pass, 0) : Number.NaN,
    });
    cluster = [];
  };
  for (const t of traced) {
    if (cluster.length && t.position - cluster[0]!.position >= span) close();
    cluster.push(t);
  }
  close();
  return plans;
}

/**
 * With a budget, a cluster's runs end `budgetNs` after its last moment, as estimated from its place:
 * the place's time plus one `2^shift` ns per instruction to it (the least it can be; an idle guest
 * inside a cluster makes it later, and the budget shorter). Exact for places, so the same from a
 * snapshot and from the boot.
 */
export function settleEnds(campaign: ResolvedCampaign, plans: readonly MomentPlan[]): void {
  const shift = shiftOf(campaign);
  const budget = campaign.definition.budgetNs;
  if (budget === undefined) return;
  for (const plan of plans) {
    if (!plan.traced) continue;
    const last = Math.max(...plan.traced.values());
    plan.endNs = plan.place.ns + Math.max(0, last - plan.place.position) * 2 ** shift + budget;
  }
}
