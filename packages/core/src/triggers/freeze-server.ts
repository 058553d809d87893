import type { Architecture } from '../arch/index.js';
import { QemuFaultError, TimeoutError } from '../errors.js';
import { describeValue } from '../integers.js';
import type { Registers } from './registers.js';
import type { TriggerCallback, TriggerContext, TriggerHandle, TriggerKind } from './types.js';

/** A trigger callback failed (or never settled); carries the guest time it happened at. */
export class TriggerCallbackError extends QemuFaultError {
  readonly timeNs: number;

  constructor(kind: TriggerKind, timeNs: number, cause: unknown) {
    const why = cause instanceof Error ? cause.message : describeValue(cause);
    super('TRIGGER_FAILED', `${kind} trigger callback failed at guest time ${timeNs} ns: ${why}`, { cause });
    this.timeNs = timeNs;
  }
}

/**
 * Why the guest is held frozen at the end of a run: `time`, the end of a `run({ forNs })` budget;
 * `held`, a callback asked for it ({@link TriggerContext.hold}).
 */
export type HoldReason = 'time' | 'held';

/** Which accesses a data trigger watches. */
export type WatchKind = 'read' | 'write' | 'access';

export interface FreezeServerOptions {
  /** Bound on one callback (default 30 000 ms): a callback that never settles fails the run. */
  callbackTimeoutMs?: number;
  /** Records a line in the injection trace. */
  record(kind: 'notify' | 'trigger' | 'register', text: string, timeNs: number | undefined): void;
  /** The architecture of a CPU (by index), for register names, widths and numbers. */
  architecture(cpu: number): Promise<Architecture>;
}

/**
 * What the framework needs from whatever freezes the guest for triggers (our plugin, or a patched
 * QEMU's `time-notify`), and the part they share: running callbacks with a time bound, keeping the
 * guest frozen after a failure or at the end of a `forNs` budget, and telling `run()` about it.
 */
export abstract class FreezeServer {
  protected nextId = 1;
  /** Set by a callback of the current freeze that asked to hold the guest there. */
  private holdRequest: HoldReason | undefined;
  private failure: Error | undefined;
  private readonly failureListeners = new Set<(err: Error) => void>();
  private readonly holdListeners = new Set<(reason: HoldReason) => void>();
  private readonly fired = new Map<number, number>();

  constructor(protected readonly options: FreezeServerOptions) {}

  /** Whether the guest is held frozen for triggers right now. */
  abstract get frozen(): boolean;

  /** The CPU held frozen, where the freeze source knows it. */
  get frozenCpu(): number | undefined {
    return this.frozen ? 0 : undefined;
  }
  /** Guest time known without asking QEMU (exact at a freeze), if any. */
  abstract knownTimeNs(): number | undefined;
  /** Guest time in ns. */
  abstract now(): Promise<number>;
  /** Instructions started so far, by every CPU or by `cpu`. */
  abstract instructions(cpu?: number): Promise<bigint>;
  /** Runs `callback` at absolute guest time `timeNs`. */
  abstract notify(timeNs: number, callback: TriggerCallback): Promise<TriggerHandle>;
  /** Runs `callback` before the instruction at `pc` executes for the `hit`-th time (on `cpu`, if given). */
  abstract atPc(pc: bigint, hit: number, callback: TriggerCallback, cpu?: number): Promise<TriggerHandle>;
  /** Runs `callback` after each access of `kind` to [address, address + size) (by `cpu`, if given). */
  abstract watch(kind: WatchKind, address: bigint, size: number, callback: TriggerCallback, cpu?: number): Promise<TriggerHandle>;
  /** Register access at a freeze, or while the VM is stopped (`stopped()`). */
  abstract registers(stopped: () => boolean): Registers;
  /** Lets a frozen guest go on. */
  abstract release(): Promise<void>;
  /**
   * Ends a freeze with the VM stopped, as snapshots need it. A vCPU our plugin holds must leave
   * the freeze to stop: `handOver` sends the stop and calls `release` at the right moment. A
   * patched QEMU's freeze already is a stopped VM.
   */
  abstract endFrozenStopped(handOver: (release: () => Promise<void>) => Promise<void>): Promise<void>;

  /** The first callback failure, if any, and forgets it. */
  takeFailure(): Error | undefined {
    const err = this.failure;
    this.failure = undefined;
    return err;
  }

  onFailure(listener: (err: Error) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  /** Called when the guest has been held frozen at a freeze, with why (see {@link hold}). */
  onHold(listener: (reason: HoldReason) => void): () => void {
    this.holdListeners.add(listener);
    return () => this.holdListeners.delete(listener);
  }

  /**
   * Call from a callback: once this freeze's callbacks have settled, the guest stays frozen
   * instead of resuming, and the hold listeners (the run in progress) hear `reason`. The first
   * request of a freeze gives the reason.
   */
  hold(reason: HoldReason): void {
    this.holdRequest ??= reason;
  }

  protected handle(id: number, cancel: () => Promise<void>): TriggerHandle {
    const fired = this.fired;
    return {
      id,
      get fired() {
        return fired.get(id) ?? 0;
      },
      cancel,
    };
  }

  /** Runs one callback, bounded in time; its failure becomes a {@link TriggerCallbackError}. */
  protected async runCallback(id: number, callback: TriggerCallback, freeze: Omit<TriggerContext, 'hold'>, detail = ''): Promise<void> {
    const context: TriggerContext = { ...freeze, hold: () => this.hold('held') };
    const { kind, timeNs } = context;
    this.fired.set(id, (this.fired.get(id) ?? 0) + 1);
    this.options.record('trigger', `${kind} trigger #${id} fired at pc 0x${context.pc.toString(16)}${detail}`, timeNs);
    const timeoutMs = this.options.callbackTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`${kind} trigger callback #${id}`, timeoutMs, '(it never settled)')), timeoutMs);
    });
    try {
      await Promise.race([Promise.resolve().then(() => callback(context)), timeout]);
    } catch (err) {
      throw new TriggerCallbackError(kind, timeNs, err);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Decides what follows a freeze whose callbacks ended (with `error` if one failed): `stay`
   * frozen — after a failure, for inspection and a clean stop, or when a callback asked to
   * {@link hold} — or `resume`.
   */
  protected afterFreeze(error: unknown): 'stay' | 'resume' {
    if (error !== undefined) {
      const err = error instanceof Error ? error : new Error(describeValue(error));
      this.failure ??= err;
      for (const listener of this.failureListeners) listener(err);
    }
    const hold = this.holdRequest;
    this.holdRequest = undefined;
    if (this.failure) return 'stay';
    if (!hold) return 'resume';
    for (const listener of this.holdListeners) listener(hold);
    return 'stay';
  }
}
