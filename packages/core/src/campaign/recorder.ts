/**
 * Before any fault runs: a golden boot that finds when each moment happens (and when the firmware
 * exits), then a recording pass that saves one snapshot shortly before each moment.
 *
 * A snapshot cannot be taken exactly at a moment: the VM stops only after the block the vCPU was
 * frozen in has run. So each is taken at a clean stop *before* its moment (at least
 * `snapshotLeadNs` earlier, doubled until the stop lands early enough), and every run replays the
 * short stretch from there, re-freezing at the moment with the same trigger a fresh boot would use.
 * That keeps a snapshot run identical to a fresh-boot run.
 */
import { CampaignConfigError } from '../errors.js';
import type { TriggerHandle } from '../triggers/types.js';
import type { ResolvedCampaign } from './definition.js';
import { describeMoment } from './definition.js';
import { formatNs, type ResolvedMoment } from './enumerate.js';
import { checkInMemory, parseFlatMemoryMap } from './memory-map.js';
import { armMoment } from './moments.js';
import { QemuSession } from './qemu-session.js';

/** What the golden boot found. */
export interface Discovery {
  /** Guest time of each moment's freeze (as reported), by moment key. */
  momentNs: Map<string, number>;
  /** PC and access moments: guest time of the first hit, by moment key (the snapshot must precede it). */
  firstHitNs: Map<string, number>;
  /** When the golden run exited, if it did within `maxGuestNs` (approximate if exits freeze inexactly). */
  exitNs?: number;
}

/** How the runs of one moment start and end. */
export interface MomentPlan {
  moment: ResolvedMoment;
  /** Snapshot to load (undefined: boot afresh). */
  tag?: string;
  snapshotNs: number;
  /** Guest time of the moment's freeze in the golden boot. */
  momentNs: number;
  /** Guest time the runs are cut at. */
  endNs: number;
}

const DEFAULT_MAX_GUEST_NS = 10_000_000_000;
const MIN_HANG_MARGIN_NS = 1_000_000;

/**
 * Boots the firmware once, checks every target and observed region against the memory map, and
 * runs until every moment has been seen (and, without a budget, until the firmware exits).
 */
export async function discover(campaign: ResolvedCampaign, moments: readonly ResolvedMoment[]): Promise<Discovery> {
  const def = campaign.definition;
  const session = await QemuSession.start(campaign.session);
  try {
    const map = parseFlatMemoryMap(await session.memoryTree());
    const checked = new Set<string>();
    for (const f of campaign.faults) {
      if (f.target.kind !== 'memory' || checked.has(f.target.label)) continue;
      checked.add(f.target.label);
      checkInMemory(map, `target ${f.target.label}`, f.target.address, f.target.length);
    }
    for (const r of campaign.session.observe) checkInMemory(map, `observed region ${r.name}`, r.address, r.length, true);

    await session.boot();
    const found: Discovery = { momentNs: new Map(), firstHitNs: new Map() };
    const q = session.qemu;
    const maxGuestNs = def.maxGuestNs ?? DEFAULT_MAX_GUEST_NS;
    const evidence = await session.window({
      endNs: maxGuestNs,
      thenClose: true,
      arm: async (host) => {
        const handles: TriggerHandle[] = [];
        for (const m of moments) {
          handles.push(
            await armMoment(q, m, undefined, async (ctx) => {
              found.momentNs.set(m.key, ctx.timeNs);
              // With a budget the exit does not matter: stop as soon as every moment is known.
              if (def.budgetNs !== undefined && found.momentNs.size === moments.length) host.hold(ctx, ctx.timeNs);
            }),
          );
          if (m.kind !== 'time') handles.push(await armMoment(q, m, 1, (ctx) => void found.firstHitNs.set(m.key, ctx.timeNs)));
        }
        return handles;
      },
    });
    // Approximate (a PC freeze), but the same every time: it only sizes the default budget.
    const exitNs = evidence.end === 'exit' ? session.exitSeenAtNs : undefined;
    if (exitNs !== undefined) found.exitNs = exitNs;
    const missing = moments.filter((m) => !found.momentNs.has(m.key));
    if (missing.length) {
      const how =
        evidence.end === 'exit'
          ? `exits${exitNs !== undefined ? ` at ${formatNs(exitNs)}` : ''}`
          : evidence.end === 'budget'
            ? `runs ${formatNs(maxGuestNs)}`
            : `ends (${evidence.end})`;
      throw new CampaignConfigError(`moment ${missing.map(describeMoment).join(', ')} is never reached: the golden run ${how} first`);
    }
    return found;
  } finally {
    await session.close();
  }
}

/** When each moment's runs end: the budget after the moment, or the golden exit plus a hang margin. */
export function planMoments(campaign: ResolvedCampaign, moments: readonly ResolvedMoment[], discovery: Discovery): MomentPlan[] {
  const budget = campaign.definition.budgetNs;
  return moments.map((moment) => {
    const momentNs = discovery.momentNs.get(moment.key)!;
    let endNs: number;
    if (budget !== undefined) endNs = momentNs + budget;
    else if (discovery.exitNs !== undefined) endNs = discovery.exitNs + Math.max(MIN_HANG_MARGIN_NS, discovery.exitNs - momentNs);
    else throw new CampaignConfigError(`the golden run does not exit within maxGuestNs; give the campaign a budgetNs`);
    return { moment, snapshotNs: 0, momentNs, endNs };
  });
}

/** The time a moment's snapshot must precede. */
function deadline(plan: MomentPlan, discovery: Discovery, shift: number): number {
  const m = plan.moment;
  // A time moment freezes at the first instruction at or after its time; from a state before that
  // time, the same trigger freezes at the same place. PC and access moments count hits from the
  // snapshot, so it must precede the first one, whose reported time may be off by up to a block
  // (512 instructions).
  return m.kind === 'time' ? m.ns : discovery.firstHitNs.get(m.key)! - 1024 * 2 ** shift;
}

/**
 * Saves a snapshot before each moment into `image` (a qcow2 file, created by the caller) and
 * fills in each plan's `tag` and `snapshotNs`.
 */
export async function recordSnapshots(campaign: ResolvedCampaign, plans: MomentPlan[], discovery: Discovery, image: string): Promise<void> {
  const leadNs = campaign.definition.snapshotLeadNs ?? 1_000_000;
  let session = await QemuSession.start(campaign.session, image);
  try {
    await session.boot();
    await session.save('base');
    let current = { tag: 'base', ns: 0 };
    let dirty = false;
    const time = campaign.session.launch.time;
    const shift = time === false ? 0 : (time?.shift ?? 0);
    const ordered = [...plans].sort((a, b) => deadline(a, discovery, shift) - deadline(b, discovery, shift));
    for (const [i, plan] of ordered.entries()) {
      const before = deadline(plan, discovery, shift);
      for (let lead = leadNs; ; lead *= 2) {
        const probe = before - lead;
        if (probe <= current.ns + 1) break; // nothing closer than the snapshot we have
        if (!session.alive) {
          await session.close();
          session = await QemuSession.start(campaign.session, image);
          dirty = true;
        }
        if (dirty) await session.load(current.tag);
        dirty = true;
        const stop = await session.stopNear(probe);
        if (stop && stop.stoppedNs < before) {
          const tag = `m${i}`;
          await session.save(tag);
          current = { tag, ns: stop.stoppedNs };
          dirty = false;
          break;
        }
      }
      plan.tag = current.tag;
      plan.snapshotNs = current.ns;
    }
  } finally {
    await session.close();
  }
}
