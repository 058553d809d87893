import { InvalidArgumentError, QemuFaultError, TimeoutError } from '../errors.js';
import { describeValue } from '../integers.js';
import type { PluginChannel, PluginHit, PluginWatchHit } from '../plugin/plugin-channel.js';
import { checkRegisterValue, registerNumber, XPSR, type ArmRegisterName, type Registers } from './registers.js';
import type { AccessInfo, TriggerCallback, TriggerContext, TriggerHandle, TriggerKind } from './types.js';

/** The single virtual-clock timer all time notifications share. */
const VTIME_TOKEN = 'vt';

/** A trigger callback failed (or never settled); carries the guest time it happened at. */
export class TriggerCallbackError extends QemuFaultError {
  readonly timeNs: number;

  constructor(kind: TriggerKind, timeNs: number, cause: unknown) {
    const why = cause instanceof Error ? cause.message : describeValue(cause);
    super('TRIGGER_FAILED', `${kind} trigger callback failed at guest time ${timeNs} ns: ${why}`, { cause });
    this.timeNs = timeNs;
  }
}

interface Notification {
  id: number;
  timeNs: number;
  callback: TriggerCallback;
}

interface PluginTrigger {
  id: number;
  kind: 'pc' | 'watch';
  callback: TriggerCallback;
  token: string;
  /** Watchpoints fire at every matching access until cancelled; PC triggers once. */
  persistent: boolean;
}

/** Which accesses a data trigger watches. */
export type WatchKind = 'read' | 'write' | 'access';
const WATCH_CODES: Record<WatchKind, 'r' | 'w' | 'rw'> = { read: 'r', write: 'w', access: 'rw' };

export interface TriggerEngineOptions {
  /** Bound on one callback (default 30 000 ms): a callback that never settles fails the run. */
  callbackTimeoutMs?: number;
  /** Records a line in the injection trace. */
  record(kind: 'notify' | 'trigger' | 'register', text: string, timeNs: number | undefined): void;
}

/**
 * Serves triggers from our TCG plugin: keeps time notifications sorted and multiplexed onto the
 * plugin's one virtual-clock timer, maps PC and data triggers to plugin tokens, runs the
 * callbacks while the vCPU is frozen, and resumes it when they settle.
 */
export class TriggerEngine {
  private readonly notifications: Notification[] = [];
  private readonly pluginTriggers = new Map<string, PluginTrigger>();
  private armedVtime: number | undefined;
  private nextId = 1;
  private frozenAt: { hit: PluginHit; timeNs: number } | undefined;
  private holdRequests: Array<() => void> = [];
  private failure: Error | undefined;
  private readonly failureListeners = new Set<(err: Error) => void>();
  private readonly holdListeners = new Set<() => void>();
  private serving: Promise<void> = Promise.resolve();
  private readonly fired = new Map<number, number>();
  private started = false;

  constructor(
    private readonly plugin: PluginChannel,
    private readonly options: TriggerEngineOptions,
  ) {
    plugin.on('hit', (hit) => {
      // Hits are serialised: the vCPU stays frozen until the previous one is resumed.
      this.serving = this.serving.then(() => this.onHit(hit));
    });
  }

  /** Whether the vCPU is frozen by the plugin right now (the guest is paused, QEMU thinks it runs). */
  get frozen(): boolean {
    return this.frozenAt !== undefined;
  }


  /** The first callback failure, if any (cleared by {@link takeFailure}). */
  takeFailure(): Error | undefined {
    const err = this.failure;
    this.failure = undefined;
    return err;
  }

  onFailure(listener: (err: Error) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  /** Called when the guest has been held frozen at the end of a `forNs` budget. */
  onHold(listener: () => void): () => void {
    this.holdListeners.add(listener);
    return () => this.holdListeners.delete(listener);
  }

  /** Guest time known without asking: exact at a freeze, 0 before the guest first ran. */
  knownTimeNs(): number | undefined {
    return this.frozenAt?.timeNs ?? (this.started ? undefined : 0);
  }

  /** Guest time in ns: exact at a freeze, and while the VM is stopped. */
  async now(): Promise<number> {
    if (this.frozenAt) return this.frozenAt.timeNs;
    return Number(await this.plugin.vtime());
  }

  /** Instructions started so far. */
  async instructions(): Promise<bigint> {
    return (await this.plugin.count()).count;
  }

  /** Schedules `callback` at absolute guest time `timeNs`. */
  async notify(timeNs: number, callback: TriggerCallback): Promise<TriggerHandle> {
    const now = await this.now();
    if (timeNs < now) {
      throw new InvalidArgumentError(`guest time ${timeNs} ns is in the past (the guest is at ${now} ns); use { relative: true } for "from now"`);
    }
    const entry: Notification = { id: this.nextId++, timeNs, callback };
    // Stable order: equal times fire in registration order.
    const at = this.notifications.findIndex((n) => n.timeNs > timeNs);
    this.notifications.splice(at < 0 ? this.notifications.length : at, 0, entry);
    this.options.record('notify', `notify #${entry.id} armed for ${timeNs}ns`, now);
    if (!this.frozenAt) await this.armEarliest();
    return this.handle(entry.id, async () => {
      const i = this.notifications.indexOf(entry);
      if (i >= 0) this.notifications.splice(i, 1);
      if (!this.frozenAt) await this.armEarliest();
    });
  }

  /** Freezes before the instruction at `pc` executes for the `hit`-th time (1-based). */
  async atPc(pc: number, hit: number, callback: TriggerCallback): Promise<TriggerHandle> {
    const id = this.nextId++;
    const token = `pc${id}`;
    await this.plugin.armPc(token, pc, hit - 1);
    return this.addPluginTrigger({ id, kind: 'pc', callback, token, persistent: false });
  }

  /** Freezes right after each guest access of `kind` to [address, address + size), before the next instruction. */
  async watch(kind: WatchKind, address: number, size: number, callback: TriggerCallback): Promise<TriggerHandle> {
    const id = this.nextId++;
    const token = `w${id}`;
    await this.plugin.armWatch(token, WATCH_CODES[kind], address, size);
    return this.addPluginTrigger({ id, kind: 'watch', callback, token, persistent: true });
  }

  private addPluginTrigger(trigger: PluginTrigger): TriggerHandle {
    this.pluginTriggers.set(trigger.token, trigger);
    return this.handle(trigger.id, async () => {
      if (this.pluginTriggers.delete(trigger.token)) await this.plugin.disarm(trigger.token);
    });
  }

  /**
   * Holds the guest frozen at the next freeze instead of resuming it (used by `run({ forNs })`).
   * Resolves once it is held.
   */
  requestHold(): Promise<void> {
    return new Promise((resolve) => this.holdRequests.push(resolve));
  }

  /** Lets a held (or otherwise frozen) guest go on. */
  async release(): Promise<void> {
    if (!this.frozenAt) return;
    this.frozenAt = undefined;
    await this.armEarliest();
    await this.plugin.resume();
  }

  /** Register access for the current freeze, or for a VM stopped by QMP (`stopped`). */
  registers(stopped: () => boolean): Registers {
    const where = () => {
      if (this.frozenAt) {
        if (!this.frozenAt.hit.exact) {
          throw new InvalidArgumentError('registers are not exact at this freeze (mid-block); use a time, instruction or PC trigger');
        }
        return {};
      }
      if (stopped()) return { vmStopped: true };
      throw new InvalidArgumentError('registers can be read only while the guest is paused or frozen in a trigger callback');
    };
    return {
      get: async (name: ArmRegisterName) => {
        const n = registerNumber(name);
        const regs = await this.plugin.registers(where());
        return n === XPSR ? regs.xpsr : regs.r[n]!;
      },
      set: async (name: ArmRegisterName, value: number) => {
        const n = registerNumber(name);
        checkRegisterValue(name, value);
        await this.plugin.setRegister(n, value, where());
        this.options.record('register', `set ${name} = 0x${value.toString(16)}`, this.frozenAt?.timeNs);
      },
      all: async () => {
        const regs = await this.plugin.registers(where());
        return Object.fromEntries([...regs.r.map((v, i) => [`r${i}`, v] as const), ['xpsr', regs.xpsr] as const]);
      },
    };
  }

  private handle(id: number, cancel: () => Promise<void>): TriggerHandle {
    const fired = this.fired;
    return {
      id,
      get fired() {
        return fired.get(id) ?? 0;
      },
      cancel,
    };
  }

  /** Points the plugin's one timer at the earliest pending notification. */
  private async armEarliest(): Promise<void> {
    const next = this.notifications[0]?.timeNs;
    if (next === this.armedVtime) return;
    this.armedVtime = next;
    if (next === undefined) await this.plugin.disarmVtime();
    else await this.plugin.armVtime(VTIME_TOKEN, next);
  }

  private async onHit(hit: PluginHit): Promise<void> {
    this.started = true;
    // The clock where the guest actually stands: a timer that ran while the guest idled in WFI
    // freezes it only at its first instruction after waking, later than the armed time.
    const timeNs = Number(await this.plugin.vtime());
    this.frozenAt = { hit, timeNs };
    try {
      if (hit.tokens.includes(VTIME_TOKEN)) {
        this.armedVtime = undefined;
        await this.fireDueNotifications(hit, timeNs);
      }
      for (const token of hit.tokens) {
        const trigger = this.pluginTriggers.get(token);
        if (!trigger) continue;
        if (!trigger.persistent) this.pluginTriggers.delete(token);
        await this.fire(trigger.id, trigger.kind, trigger.callback, hit, timeNs, hit.watch);
      }
    } catch (err) {
      this.fail(err as Error);
    }
    // A failed callback leaves the guest frozen where it failed, for inspection and a clean stop.
    if (this.failure) return;
    const hold = this.holdRequests.splice(0);
    if (hold.length) {
      for (const resolve of hold) resolve();
      for (const listener of this.holdListeners) listener();
      return;
    }
    this.frozenAt = undefined;
    await this.armEarliest().catch(() => undefined);
    await this.plugin.resume().catch(() => undefined);
  }

  private async fireDueNotifications(hit: PluginHit, timeNs: number): Promise<void> {
    // Callbacks may add notifications for this very time: keep going until none is due.
    while (this.notifications[0] && this.notifications[0].timeNs <= timeNs) {
      const due = this.notifications.shift()!;
      await this.fire(due.id, 'time', due.callback, hit, timeNs);
    }
  }

  private async fire(id: number, kind: TriggerKind, callback: TriggerCallback, hit: PluginHit, timeNs: number, watch?: PluginWatchHit): Promise<void> {
    this.fired.set(id, (this.fired.get(id) ?? 0) + 1);
    const access: AccessInfo | undefined = watch && { kind: watch.kind, address: watch.address, size: watch.size, pc: watch.pc };
    const what = access ? `, ${access.kind} of ${access.size} bytes at 0x${access.address.toString(16)} by pc 0x${access.pc.toString(16)}` : '';
    this.options.record('trigger', `${kind} trigger #${id} fired at pc 0x${hit.pc.toString(16)}, instruction ${hit.count}${what}`, timeNs);
    const context: TriggerContext = {
      kind,
      timeNs,
      instructions: hit.count,
      pc: hit.pc,
      registers: this.registers(() => false),
      ...(access ? { access } : {}),
    };
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

  private fail(err: Error): void {
    this.failure ??= err;
    for (const listener of this.failureListeners) listener(err);
  }
}

