/**
 * The recording pass: one boot that walks forward through the golden run and saves a snapshot
 * shortly before each plan's first moment — reusing any earlier snapshot that is close enough, so
 * their number stays bounded by the clusters of moments, not by the moments.
 *
 * A snapshot cannot be taken exactly at a moment: the VM stops only after the block the vCPU was
 * frozen in has run. So each is taken at a clean stop *before* its plan's deadline — a guest time
 * for time moments, a position (instructions since boot) for pc and data moments — and every run
 * replays the short stretch from there, re-freezing at its moment with the same trigger a fresh
 * boot would use, its hit counted from the snapshot.
 */
import { SnapshotError } from '../errors.js';
import type { TriggerHandle } from '../triggers/types.js';
import type { ResolvedCampaign } from './definition.js';
import { settleSerial } from './evidence.js';
import { BOOT, CLUSTER_SPAN, type MomentPlan, type Place, shiftOf, startsAt } from './plans.js';
import { QemuSession } from './qemu-session.js';

/** Instructions kept between a stop aimed at a position and that position: more than a block (512) runs past a freeze. */
const POSITION_MARGIN = 1024;
/** Close enough to a position target to stop at the next freeze. */
const POSITION_SLACK = 256;

/** A session walking through the golden run, knowing where it stands. */
class Walk {
  /** The VM's state is `here` (a stop, or a loaded place). */
  here: Place;
  /** The plugin's instruction count goes on across `loadvm`: its reading at `here`, less `here.position`. */
  private offset = 0;
  private serial: string[] = [];
  private readonly unsubscribe: () => void;

  constructor(
    private readonly session: QemuSession,
    private readonly campaign: ResolvedCampaign,
    private readonly image: string | undefined,
    start: Place,
    /** Whether the session is the walk's own, to close at its end (else a worker's, which goes on). */
    private readonly owned: boolean,
  ) {
    this.here = start;
    this.unsubscribe = session.qemu.serial.onData((text) => this.serial.push(text));
  }

  /**
   * Boots `session` (a QEMU just launched, or one of its own without one) and notes the boot; with
   * an image, saves it as snapshot `base`.
   */
  static async start(campaign: ResolvedCampaign, image: string | undefined, given?: QemuSession): Promise<Walk> {
    const session = given ?? (await QemuSession.start(campaign.session, image));
    try {
      await session.boot();
      const walk = new Walk(session, campaign, image, { ...BOOT, position: Number(await session.qemu.instructions()) }, !given);
      if (image) await walk.save('base');
      return walk;
    } catch (err) {
      if (!given) await session.close();
      throw err;
    }
  }

  private get shift(): number {
    return shiftOf(this.campaign);
  }

  /** Saves the VM where it stands as snapshot `tag` (no image: only notes the place). */
  async save(tag: string): Promise<Place> {
    if (this.image) await this.session.save(tag);
    this.here = { ...this.here, ...(this.image ? { tag } : {}) };
    return this.here;
  }

  /** Goes back to a saved place. */
  async load(place: Place): Promise<void> {
    // A fault-free run does not end QEMU before the golden run's end, which comes after every deadline.
    if (!this.session.alive) throw new SnapshotError(`QEMU ended during the recording pass: ${this.session.qemu.process.stderr.text()}`);
    await this.session.load(place.tag!);
    this.offset = Number(await this.session.qemu.instructions()) - place.position;
    this.serial = [];
    this.here = { ...place, serial: place.serial };
  }

  /**
   * Runs forward to a stop just before `deadline` (`leadNs` before a time; a margin before a
   * position) and makes it `here`; false if QEMU ended or the wall-clock limit passed first.
   */
  async advance(plan: MomentPlan, leadNs: number): Promise<boolean> {
    const q = this.session.qemu;
    const before = plan.before;
    const aim = (timeNs: number, position: number) =>
      'ns' in before ? before.ns - leadNs : timeNs + (before.position - POSITION_MARGIN - position) * 2 ** this.shift;
    const first = aim(this.here.ns, this.here.position);
    if (first <= this.here.ns) return false;
    // A time freeze is exact; for a position the aim assumes no idle time (idle only adds time), so
    // the guest is never past it there, and a new aim from where it is closes in.
    const handles: TriggerHandle[] = [];
    const probe = async (atNs: number) => {
      handles.push(
        await q.notify(atNs, async (ctx) => {
          const position = Number(ctx.instructions) - this.offset;
          if ('position' in before && before.position - POSITION_MARGIN - position > POSITION_SLACK) {
            const next = aim(ctx.timeNs, position);
            if (next > ctx.timeNs) return probe(next);
          }
          ctx.hold();
        }),
      );
    };
    await probe(first);
    const result = await q.run({ timeoutMs: this.campaign.session.runTimeoutMs });
    if (result.reason !== 'held') {
      for (const handle of handles) await handle.cancel().catch(() => undefined);
      return false;
    }
    await q.stopHeld();
    await settleSerial(q, true);
    this.here = {
      ns: await q.now(),
      position: Number(await q.instructions()) - this.offset,
      serial: this.here.serial + this.serial.join(''),
    };
    this.serial = [];
    return true;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    if (this.owned) await this.session.close();
  }
}

/**
 * Places every plan (fills in `place`): walks the golden run once, saving a snapshot into `image`
 * (a qcow2 file created by the caller, attached to `session` if given) before each plan's deadline
 * unless an earlier one is within `snapshotLeadNs` of it. Without `image` it only measures the
 * places (for ends counted from them).
 */
export async function recordSnapshots(
  campaign: ResolvedCampaign,
  plans: MomentPlan[],
  image: string | undefined,
  session?: QemuSession,
): Promise<void> {
  const leadNs = campaign.definition.snapshotLeadNs ?? 1_000_000;
  const walk = await Walk.start(campaign, image, session);
  try {
    const places: Place[] = [walk.here];
    const shift = shiftOf(campaign);
    // Where each deadline is at the earliest, from the boot: time moments at their time, positions one instruction each.
    const earliest = (p: MomentPlan) => ('ns' in p.before ? p.before.ns : p.before.position * 2 ** shift);
    const ordered = [...plans].sort((a, b) => earliest(a) - earliest(b));
    for (const plan of ordered) {
      // The latest place the plan may start at (places are not saved in order: a walk may go back).
      const best = places.filter((place) => startsAt(plan, place)).reduce((a, b) => (b.position > a.position ? b : a), places[0]!);
      plan.place = best;
      const byTime = 'ns' in plan.before;
      const gap = 'ns' in plan.before ? plan.before.ns - best.ns : plan.before.position - best.position;
      if (gap <= (byTime ? leadNs : CLUSTER_SPAN)) continue;
      // A stop aimed at a time lands a block later at most: doubling the lead gets it early enough.
      for (let lead = leadNs; lead < gap || !byTime; lead *= 2) {
        if (!startsAt(plan, walk.here) || walk.here.position < best.position) {
          if (!best.tag) break; // no snapshots to go back to: only measuring
          await walk.load(best);
        }
        if (!(await walk.advance(plan, lead))) break;
        if (startsAt(plan, walk.here)) {
          const place = await walk.save(`p${places.length}`);
          places.push(place);
          plan.place = place;
          break;
        }
        if (!byTime) break;
      }
    }
  } finally {
    await walk.close();
  }
}
