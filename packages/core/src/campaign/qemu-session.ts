/**
 * One QEMU used for many runs. A run starts from a stopped state (a fresh boot, or a loaded
 * snapshot): arm the moment, run on the framework's run loop until a trigger holds the guest (a
 * trap, the end of the budget) or QEMU ends, read the evidence where it stands, and stop cleanly
 * so the next run can load a snapshot.
 */
import { CampaignConfigError } from '../errors.js';
import type { RunResult } from '../framework/run-guest.js';
import { type LaunchOptions, launch } from '../launched/launch.js';
import type { LaunchedQemu } from '../launched/launched-qemu.js';
import type { TriggerContext, TriggerHandle } from '../triggers/types.js';
import { within } from '../wait.js';
import type { Fault, ResolvedMoment } from './enumerate.js';
import { type ObservedRegion, type RunEnding, readEvidence, SerialEvidence } from './evidence.js';
import { type Trap, type TrapCapabilities, type TrapHit, Traps } from './exit-traps.js';
import { type InjectionEffect, type InjectionHost, inject } from './inject.js';
import { armMoment, exactTime } from './moments.js';
import type { Evidence } from './outcome.js';
import { armSecond } from './pairs.js';
import { armPowerLoss } from './power-loss.js';
import { loadSnapshot, saveSnapshot, snapshotDriveArgs } from './snapshots.js';

/** A parameter written before the first instruction (e.g. `run_ticks`). */
export interface ParamWrite {
  address: number;
  size: 1 | 2 | 4;
  value: number;
}

/** What every session of a campaign shares. */
export interface SessionConfig {
  launch: LaunchOptions;
  params: ParamWrite[];
  prepare?: ((qemu: LaunchedQemu) => void | Promise<void>) | undefined;
  traps: Trap[];
  observe: ObservedRegion[];
  serial: boolean;
  /** Wall-clock limit of one run. */
  runTimeoutMs: number;
  /** Learned at run time and shared by all sessions. */
  capabilities: TrapCapabilities;
}

/** One run: a moment (with its hit count relative to the start state), the end of the window, and the fault (none: golden). */
export interface RunRequest {
  moment: ResolvedMoment;
  /** For PC and access moments: which hit, counted from the state the run starts in. */
  hit?: number | undefined;
  /** Absolute guest time at which the run is cut; undefined: `budgetNs` after the moment's freeze (exact at time moments). */
  endNs: number | undefined;
  /** With no `endNs`: guest time the run gets after its moment. */
  budgetNs?: number | undefined;
  fault?: Fault;
  /** Serial output from boot to the start state (a snapshot's). */
  serialPrefix?: string;
  /** Told just before and after the injection, at the moment's freeze (reproduction's trace, its stop for a debugger). */
  probe?: InjectionProbe | undefined;
}

/** See {@link RunRequest.probe}. */
export interface InjectionProbe {
  before(ctx: TriggerContext, host: WindowHost): Promise<void>;
  after(ctx: TriggerContext, host: WindowHost): Promise<void>;
}

/** What a run gives back besides its evidence. */
export interface RunReport {
  evidence: Evidence;
  /** Whether the moment was reached before the run ended. */
  reached: boolean;
  /** Guest time of the moment's freeze: time moments only (see {@link exactTime}). */
  momentNs?: number;
  /** The pc at the moment: the instruction about to run, or at an access moment the one that made the access. */
  momentPc?: number;
  /** The pc the run ended at, where it was held (a trap, the end of the budget). */
  endPc?: number;
  /** What the fault changed there. */
  effect?: InjectionEffect;
  /** A double fault's second fault: whether its moment came (within the window) and it was injected. */
  secondInjected?: boolean;
}

/** What the triggers of a run window can use. */
export interface WindowHost extends InjectionHost {
  qemu: LaunchedQemu;
  /** Ends the run at this freeze (call from a trigger callback): the guest is held there while the evidence is read. */
  hold(ctx: TriggerContext, timeNs?: number): void;
  /** Ends the run here with `failure`, thrown once the guest is stopped (a callback must not throw: it would fail the run elsewhere). */
  fail(ctx: TriggerContext, failure: unknown): void;
}

/** Where a run was ended from a callback: the first hold of a run counts. */
interface Hold {
  /** Where the guest was held (the next instruction to run). */
  pc?: number;
  trap?: TrapHit;
  timeNs?: number | undefined;
  failure?: unknown;
}

const PHYSICAL = { physical: true } as const;
const noop = () => undefined;

/**
 * A QEMU for a campaign's runs (one worker's, or the golden pass's). Not exported from the
 * package: `runCampaign` drives it.
 */
export class QemuSession {
  private readonly traps: Traps;
  /** Memory bytes at moments (see {@link InjectionHost.seen}), shared with later sessions of a worker. */
  seen = new Map<string, number>();

  private constructor(
    readonly qemu: LaunchedQemu,
    private readonly config: SessionConfig,
    readonly image: string | undefined,
  ) {
    this.traps = new Traps(qemu, config.traps, config.capabilities);
  }

  /**
   * Launches QEMU (paused) for `config`. With `image`, attaches it for snapshots, with a human
   * monitor for the per-fault commands (see framework/run-control.ts).
   */
  static async start(config: SessionConfig, image?: string): Promise<QemuSession> {
    const args = [...(config.launch.args ?? []), ...(image ? snapshotDriveArgs(image) : [])];
    // qtest (memory, including while frozen) and the serial port are needed; the gdbstub is not,
    // and one channel fewer is a faster start.
    const channels = { gdb: false, ...config.launch.channels, qtest: true, serial: true, hmp: image !== undefined };
    return new QemuSession(await launch({ ...config.launch, args, channels }), config, image);
  }

  /** Whether QEMU still runs. */
  get alive(): boolean {
    return this.qemu.process.exitInfo === undefined;
  }

  /** Prepares a fresh boot: parameter writes, then the user's `prepare`. */
  async boot(): Promise<void> {
    for (const p of this.config.params) {
      const bytes = Buffer.alloc(p.size);
      bytes.writeUIntLE(p.value, 0, p.size);
      await this.qemu.writeBytes(p.address, bytes, PHYSICAL);
    }
    await this.config.prepare?.(this.qemu);
  }

  /** Saves the (stopped) VM as snapshot `tag`. */
  save(tag: string): Promise<void> {
    return saveSnapshot(this.qemu, tag, this.image);
  }

  /** Loads snapshot `tag` (the VM stays stopped). */
  load(tag: string): Promise<void> {
    return loadSnapshot(this.qemu, tag, this.image);
  }

  /** `info mtree -f`, for checking targets against the memory map. */
  memoryTree(): Promise<string> {
    return this.qemu.hmp('info mtree -f');
  }

  /**
   * One run from the current stopped state: arms the moment (injecting `req.fault` there, if any),
   * runs to `req.endNs` or a trap or QEMU's end, reads the evidence, and stops the VM (unless
   * `thenClose`, for a QEMU about to be closed anyway).
   */
  async execute(req: RunRequest, options: { thenClose?: boolean } = {}): Promise<RunReport> {
    const report: RunReport = { evidence: { end: 'budget' }, reached: false };
    // A moment on a trap's instruction (the exit call) comes first: the trap is taken after the fault, if the pc is still there.
    const trap = req.moment.kind === 'pc' ? this.traps.at(req.moment.pc) : undefined;
    const ended: { pc?: number } = {};
    report.evidence = await this.window({
      endNs: req.endNs,
      thenClose: options.thenClose,
      serialPrefix: req.serialPrefix,
      except: trap?.pc,
      ended,
      arm: async (host) => [
        ...(req.fault ? await armPowerLoss(host, req.fault) : []),
        await armMoment(this.qemu, req.moment, req.hit, async (ctx) => {
          // A trap held the run at this very freeze: its evidence is what the guest did without the fault.
          if (!host.active()) return;
          report.reached = true;
          report.momentPc = ctx.access?.pc ?? ctx.pc;
          if (exactTime(ctx)) report.momentNs = ctx.timeNs;
          if (req.fault) {
            try {
              await req.probe?.before(ctx, host);
              report.effect = await inject(host, req.fault, ctx);
              await req.probe?.after(ctx, host);
              if (req.fault.second) {
                report.secondInjected = false;
                await armSecond(host, req.fault, ctx, () => {
                  report.secondInjected = true;
                });
              }
            } catch (err) {
              return host.fail(ctx, new CampaignConfigError(`cannot inject '${req.fault.id}': ${(err as Error).message}`));
            }
          }
          if (req.endNs === undefined && req.budgetNs !== undefined) {
            host.keep(await this.qemu.notify(ctx.timeNs + req.budgetNs, (end) => host.hold(end, end.timeNs)));
          }
          if (trap && report.effect?.kind !== 'skip') await this.traps.reach(trap, ctx);
        }),
      ],
    });
    if (req.fault && report.momentNs !== undefined) report.evidence.injectedAtNs = report.momentNs;
    if (ended.pc !== undefined) report.endPc = ended.pc;
    return report;
  }

  /**
   * Runs from the current stopped state until guest time `endNs`, a trap or QEMU's end, with the
   * triggers `arm` sets; returns the evidence and leaves the VM stopped (or, with `thenClose`,
   * running on, to be closed).
   */
  async window(options: {
    /** Undefined: a trigger `arm` sets ends the run (or the guest's end, or the wall-clock limit). */
    endNs: number | undefined;
    arm(host: WindowHost): Promise<TriggerHandle[]>;
    thenClose?: boolean | undefined;
    /** Serial output before the start state (see {@link RunRequest.serialPrefix}). */
    serialPrefix?: string | undefined;
    /** No trap at this pc (the run's moment takes it). */
    except?: number | undefined;
    /** Filled in with the pc the run ended at, where it was held (a trap, the end of the budget). */
    ended?: { pc?: number };
  }): Promise<Evidence> {
    const q = this.qemu;
    await this.traps.arm(options.except);
    let held: Hold | undefined;
    let over = false;
    let cuts = 0;
    const hold = (ctx: TriggerContext, how: Hold) => {
      if (held || over) return;
      held = { ...how, pc: ctx.pc };
      ctx.hold();
    };
    this.traps.onHit = (ctx, trap) => hold(ctx, { trap });
    const serial = this.config.serial ? new SerialEvidence(q, options.serialPrefix) : undefined;
    // What a previous run wrote before its stop has come by now (QEMU has answered since): not this run's.
    await serial?.mark(true);
    const keep: TriggerHandle[] = [];
    const host: WindowHost = {
      qemu: q,
      active: () => !held && !over,
      keep: (h) => void keep.push(h),
      seen: this.seen,
      hold: (ctx, timeNs) => hold(ctx, { timeNs }),
      fail: (ctx, failure) => hold(ctx, { failure }),
      powerCut: (ctx) => {
        cuts++;
        ctx.hold();
      },
    };
    try {
      keep.push(...(await options.arm(host)));
      // Every early end is a callback that holds the guest frozen where it happened (the end of the
      // budget too), so evidence is read at that point and no poll adds latency.
      if (options.endNs !== undefined) keep.push(await q.notify(options.endNs, (ctx) => hold(ctx, { timeNs: ctx.timeNs })));
      // A power cut is taken once; a trap or the budget at the same freeze ends the run instead.
      const takeCut = () => {
        if (held || !cuts) return false;
        cuts--;
        return true;
      };
      const ending = await this.runToEnd(() => held, takeCut);
      if (options.ended && held?.pc !== undefined) options.ended.pc = held.pc;
      if (held?.failure) throw held.failure;
      return await readEvidence(q, ending, this.config.observe, serial);
    } finally {
      over = true;
      this.traps.onHit = undefined;
      serial?.dispose();
      for (const handle of keep) await handle.cancel().catch(noop);
      // A QEMU about to be closed need not stop, but must not stay frozen: `quit` would wait for it.
      if (options.thenClose) {
        if (held && this.alive) await q.cont().catch(noop);
      } else if (this.alive) await this.stop();
    }
  }

  /**
   * Runs the guest on the framework's run loop and says how the run ended. A power cut (`cut()`
   * says one is pending) holds the guest too: it is stopped there, reset, and run on.
   */
  private async runToEnd(holdOf: () => Hold | undefined, cut: () => boolean): Promise<RunEnding> {
    const q = this.qemu;
    let result: RunResult;
    try {
      result = await q.run({ timeoutMs: this.config.runTimeoutMs });
      while (result.reason === 'held' && cut()) {
        await q.stopHeld();
        await q.qmp.execute('system_reset');
        result = await q.run({ timeoutMs: this.config.runTimeoutMs });
      }
    } catch (err) {
      // A callback cut short by QEMU's death (a fault that kills it) is the end of the run, not a failure.
      if (!(await within(q.process.exited, 1000))) throw err;
      return { kind: 'exited' };
    }
    if (result.reason === 'held') {
      const how = holdOf();
      return { kind: 'held', trap: how?.trap, timeNs: how?.timeNs };
    }
    if (result.reason === 'timeout') {
      // run() paused a running guest; a guest stuck in a callback leaves QEMU of no more use.
      if ((await q.status()).status === 'frozen') await q.process.kill();
      return { kind: 'timeout' };
    }
    // QEMU exited, or is exiting (a reset under -no-reboot).
    await within(q.process.exited, 2000);
    return { kind: 'exited' };
  }

  /** Stops the VM after a run, so the next run can start from a snapshot. */
  private async stop(): Promise<void> {
    const q = this.qemu;
    try {
      const status = await q.status();
      if (status.status === 'frozen') await q.stopHeld();
      else if (status.running) await q.stop();
    } catch {
      // A QEMU that does not stop (or ended while stopping) is of no more use: the next run
      // relaunches one.
      if (this.alive) await q.process.kill();
    }
  }

  /** Quits QEMU and removes its temp dir. */
  close(): Promise<void> {
    return this.qemu.close();
  }
}
