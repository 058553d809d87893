/**
 * The golden pass: ONE fault-free boot of the firmware per campaign, before any fault runs. It
 * checks targets and observed regions against the memory map, records the trace moments, finds
 * where each pc and data moment first comes (the snapshots must precede it), and how and when the
 * firmware ends — its evidence is the golden run every fault run without a budget is compared with.
 *
 * It arms no time trigger of its own: a timer armed while the guest idles is a deadline QEMU's idle
 * warp stops at, so the guest's clock would not be the one the fault runs see.
 */
import { CampaignConfigError } from '../errors.js';
import type { TriggerHandle } from '../triggers/types.js';
import type { ResolvedCampaign } from './definition.js';
import { formatNs, type ResolvedMoment, type ResolvedTarget, type SymbolLookup } from './enumerate.js';
import { checkInMemory, parseFlatMemoryMap } from './memory-map.js';
import { armMoment } from './moments.js';
import type { Evidence } from './outcome.js';
import { QemuSession } from './qemu-session.js';
import type { TraceMomentSpec } from './space.js';
import { recordTraceMoments, type TracedMoment } from './trace-moments.js';

/** What the golden pass found. */
export interface GoldenPass {
  /** Evidence of the whole fault-free run, from boot to its end. */
  evidence: Evidence;
  /** Guest time the run ended at (the firmware's exit, or `maxGuestNs`). */
  endNs: number;
  /** Whether it ended by the firmware's exit (or a trap) rather than `maxGuestNs`. */
  ended: boolean;
  /** Pc and access moments: where (instructions since boot) the first hit came; snapshots must precede it. */
  firstPosition: Map<string, number>;
  /** Pc and access moments: guest time of the moment's freeze as reported (approximate: a PC or data freeze). */
  momentNs: Map<string, number>;
  /** The moments each trace moment stands for (by `traceKey`), with their positions. */
  traced: Map<string, TracedMoment[]>;
}

const DEFAULT_MAX_GUEST_NS = 10_000_000_000;

/** What the golden pass needs of a campaign (resolved but for its trace moments). */
export type GoldenPassCampaign = Pick<ResolvedCampaign, 'definition' | 'session'>;

/**
 * Runs the golden pass: boots, checks `targets` and the observed regions against the memory map,
 * arms `moments` (pc and data ones; time moments need nothing) and the trace moments, and runs to the
 * firmware's exit (or `maxGuestNs`).
 */
export async function goldenPass(
  campaign: GoldenPassCampaign,
  options: {
    targets: readonly ResolvedTarget[];
    moments: readonly ResolvedMoment[];
    traces: readonly TraceMomentSpec[];
    lookup: SymbolLookup;
  },
): Promise<GoldenPass> {
  const def = campaign.definition;
  const session = await QemuSession.start(campaign.session);
  try {
    const map = parseFlatMemoryMap(await session.memoryTree());
    for (const t of options.targets) if (t.kind === 'memory') checkInMemory(map, `target ${t.label}`, t.address, t.length);
    for (const r of campaign.session.observe) checkInMemory(map, `observed region ${r.name}`, r.address, r.length, true);

    await session.boot();
    const q = session.qemu;
    const pass: GoldenPass = {
      evidence: { end: 'budget' },
      endNs: 0,
      ended: false,
      firstPosition: new Map(),
      momentNs: new Map(),
      traced: new Map(),
    };
    const armed = options.moments.filter((m) => m.kind !== 'time');
    const recording = await recordTraceMoments(q, options.traces, options.lookup);
    const maxGuestNs = def.maxGuestNs ?? DEFAULT_MAX_GUEST_NS;
    // With a budget the runs are compared with golden runs of their own, and the end does not
    // matter: the pass can stop once every moment has come.
    const early = def.budgetNs !== undefined && !options.traces.length;
    const lastTimeNs = Math.max(0, ...options.moments.map((m) => (m.kind === 'time' ? m.ns : 0)));
    pass.evidence = await session.window({
      endNs: early && !armed.length ? Math.min(maxGuestNs, lastTimeNs + 1) : maxGuestNs,
      arm: async (host) => {
        const handles: TriggerHandle[] = [];
        for (const m of armed) {
          handles.push(
            await armMoment(q, m, undefined, (ctx) => {
              pass.momentNs.set(m.key, ctx.timeNs);
              if (early && pass.momentNs.size === armed.length && ctx.timeNs > lastTimeNs) host.hold(ctx, ctx.timeNs);
            }),
          );
          handles.push(await armMoment(q, m, 1, (ctx) => void pass.firstPosition.set(m.key, Number(ctx.instructions))));
        }
        return handles;
      },
    });
    pass.traced = await recording.finish();
    pass.ended = pass.evidence.end !== 'budget';
    // Exact here (a stopped VM), unlike the time of the exit's PC freeze.
    pass.endNs = session.alive ? await q.now() : maxGuestNs;
    const missing = armed.filter((m) => !pass.momentNs.has(m.key));
    const late = options.moments.filter((m) => m.kind === 'time' && m.ns >= pass.endNs);
    if (missing.length || late.length) {
      const end = pass.evidence.end === 'exit' ? 'exits' : `ends (${pass.evidence.end})`;
      const how = pass.ended ? `${end} at ${formatNs(pass.endNs)}` : `runs ${formatNs(maxGuestNs)}`;
      const which = [...missing, ...late].map((m) => (m.kind === 'time' ? `time ${formatNs(m.ns)}` : m.key));
      throw new CampaignConfigError(`moment ${which.join(', ')} is never reached: the golden run ${how} first`);
    }
    return pass;
  } finally {
    await session.close();
  }
}
