/**
 * A campaign's workers: each one QEMU at a time (reused from run to run, relaunched when a fault
 * kills it), and the pool that hands them the next item when free.
 */
import type { ResolvedCampaign } from './definition.js';
import type { Fault, ResolvedMoment } from './enumerate.js';
import { BOOT, type HitCounter, type MomentPlan, type Place } from './plans.js';
import { QemuSession, type RunReport, type RunRequest } from './qemu-session.js';
import { recordSnapshots } from './recorder.js';

/** A worker: one QEMU at a time, relaunched when a fault run kills it. */
export class Worker {
  private session: QemuSession | undefined;
  /** Bytes at moments, kept across the sessions of this worker (see `InjectionHost.seen`). */
  private readonly seen = new Map<string, number>();

  /** Hit counts from places, known once the golden pass is done. */
  hits: HitCounter | undefined;

  constructor(
    private readonly campaign: Pick<ResolvedCampaign, 'session' | 'definition'>,
    private readonly image: string | undefined,
  ) {}

  /** Launches this worker's QEMU (with its snapshot image) ahead of its first run: while the golden pass runs. */
  async launch(): Promise<void> {
    if (!this.image || this.session) return;
    this.session = await QemuSession.start(this.campaign.session, this.image);
    this.session.seen = this.seen;
  }

  /**
   * Records the snapshots of `plans` into this worker's own image (each worker walks the same
   * deterministic golden run: no image is copied) and returns where each plan starts.
   */
  async record(campaign: ResolvedCampaign, plans: readonly MomentPlan[]): Promise<Place[]> {
    await this.launch();
    const own = plans.map((p) => ({ ...p }));
    await recordSnapshots(campaign, own, this.image, this.session);
    return own.map((p) => p.place);
  }

  /** Runs `plan`'s window at `moment` with `fault` (none: the golden run), from its snapshot (or a fresh boot). */
  async execute(plan: MomentPlan, moment: ResolvedMoment, fault?: Fault): Promise<RunReport> {
    const start = this.image ? plan.place : BOOT;
    const request: RunRequest = {
      moment,
      hit: this.hits!.hitFrom(moment, start, plan.traced?.has(moment.key) ?? false),
      endNs: plan.endNs,
      budgetNs: this.campaign.definition.budgetNs,
      serialPrefix: start.serial,
      ...(fault ? { fault } : {}),
    };
    if (!this.image) {
      // Fresh mode: boot, run, quit — what a campaign without snapshots costs.
      const session = await QemuSession.start(this.campaign.session);
      session.seen = this.seen;
      try {
        await session.boot();
        return await session.execute(request, { thenClose: true });
      } finally {
        await session.close();
      }
    }
    if (this.session && !this.session.alive) {
      await this.session.close();
      this.session = undefined;
    }
    await this.launch();
    await this.session!.load(start.tag!);
    return this.session!.execute(request);
  }

  async close(): Promise<void> {
    await this.session?.close();
    this.session = undefined;
  }
}

/** Runs `task` over `items` on the workers, each worker taking the next item when free; stops early on `stop()`. */
export async function onPool<T>(
  workers: Worker[],
  items: readonly T[],
  task: (worker: Worker, item: T) => Promise<void>,
  stop: () => boolean,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  await Promise.all(
    workers.map(async (worker) => {
      while (!failure && !stop() && next < items.length) {
        const item = items[next++]!;
        try {
          await task(worker, item);
        } catch (error) {
          failure ??= { error };
        }
      }
    }),
  );
  if (failure) throw failure.error;
}
