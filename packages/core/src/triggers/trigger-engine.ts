import type { Architecture, RegisterSpec } from '../arch/index.js';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import type { PluginChannel, PluginHit, PluginWatchHit } from '../plugin/plugin-channel.js';
import { FreezeServer, type FreezeServerOptions, type WatchKind } from './freeze-server.js';
import { type Registers, registersOver } from './registers.js';
import type { AccessInfo, TriggerCallback, TriggerContext, TriggerHandle, TriggerKind } from './types.js';

/** `timeNs` where QEMU's virtual clock cannot be read (a QEMU without its internals). */
const UNKNOWN_TIME = -1;

/** The single virtual-clock timer all time notifications share. */
const VTIME_TOKEN = 'vt';

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

const WATCH_CODES: Record<WatchKind, 'r' | 'w' | 'rw'> = { read: 'r', write: 'w', access: 'rw' };

/**
 * Serves triggers from our TCG plugin: keeps time notifications sorted and multiplexed onto the
 * plugin's one virtual-clock timer, maps PC and data triggers to plugin tokens, runs the
 * callbacks while the vCPU is frozen, and resumes it when they settle.
 */
export class TriggerEngine extends FreezeServer {
  private readonly notifications: Notification[] = [];
  private readonly pluginTriggers = new Map<string, PluginTrigger>();
  private armedVtime: number | undefined;
  private frozenAt: { hit: PluginHit; timeNs: number } | undefined;
  private serving: Promise<void> = Promise.resolve();
  private started = false;

  constructor(
    private readonly plugin: PluginChannel,
    options: FreezeServerOptions,
  ) {
    super(options);
    plugin.on('hit', (hit) => {
      // Hits are serialised: the vCPU stays frozen until the previous one is resumed. A hit can
      // fail only when the channel ends under it (QEMU closing or gone), which the channel's own
      // end reports to whoever waits; the chain must go on serving, and nothing is left unhandled.
      this.serving = this.serving.then(() => this.onHit(hit)).catch(() => undefined);
    });
  }

  /** Whether the vCPU is frozen by the plugin right now (the guest is paused, QEMU thinks it runs). */
  get frozen(): boolean {
    return this.frozenAt !== undefined;
  }

  override get frozenCpu(): number | undefined {
    return this.frozenAt?.hit.cpu;
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

  /** Instructions started so far, by every CPU or by `cpu`. */
  async instructions(cpu?: number): Promise<bigint> {
    const counted = await this.plugin.count();
    if (cpu === undefined) return counted.count;
    return counted.perCpu[cpu] ?? 0n;
  }

  /** Schedules `callback` at absolute guest time `timeNs`. */
  async notify(timeNs: number, callback: TriggerCallback): Promise<TriggerHandle> {
    const now = await this.now();
    if (timeNs < now) {
      throw new InvalidArgumentError(
        `guest time ${timeNs} ns is in the past (the guest is at ${now} ns); use { relative: true } for "from now"`,
      );
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
  async atPc(pc: bigint, hit: number, callback: TriggerCallback, cpu?: number): Promise<TriggerHandle> {
    const id = this.nextId++;
    const token = `pc${id}`;
    await this.plugin.armPc(token, pc, hit - 1, cpuFilter(cpu));
    return this.addPluginTrigger({ id, kind: 'pc', callback, token, persistent: false });
  }

  /** Freezes right after each guest access of `kind` to [address, address + size), before the next instruction. */
  async watch(kind: WatchKind, address: bigint, size: number, callback: TriggerCallback, cpu?: number): Promise<TriggerHandle> {
    const id = this.nextId++;
    const token = `w${id}`;
    await this.plugin.armWatch(token, WATCH_CODES[kind], address, size, 0, cpuFilter(cpu));
    return this.addPluginTrigger({ id, kind: 'watch', callback, token, persistent: true });
  }

  private addPluginTrigger(trigger: PluginTrigger): TriggerHandle {
    this.pluginTriggers.set(trigger.token, trigger);
    return this.handle(trigger.id, async () => {
      if (this.pluginTriggers.delete(trigger.token)) await this.plugin.disarm(trigger.token);
    });
  }

  /** Lets a held (or otherwise frozen) guest go on. */
  async release(): Promise<void> {
    if (!this.frozenAt) return;
    this.frozenAt = undefined;
    await this.armEarliest();
    await this.plugin.resume();
  }

  endFrozenStopped(handOver: (release: () => Promise<void>) => Promise<void>): Promise<void> {
    return handOver(() => this.release());
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
    const cpuOf = (cpu: number | undefined) => cpu ?? this.cpu();
    return registersOver({
      architecture: (cpu) => this.architecture(cpuOf(cpu)),
      read: async (spec, cpu) => (await this.plugin.registers(cpuOf(cpu), where())).get(spec.gdb) ?? missing(spec),
      write: async (spec, value, cpu) => {
        const arch = await this.architecture(cpuOf(cpu));
        // The plugin jumps only on a write of its target's pc: another class's pc would be lost at the block restart.
        if (spec.name === 'pc' && arch.target !== this.plugin.hello.target) {
          throw new UnsupportedError(
            `registers.set('pc') on CPU ${cpuOf(cpu)}`,
            `it is ${arch.title} inside qemu-system-${this.plugin.hello.target}, and the plugin moves the pc only of ${this.plugin.hello.target} CPUs (no jump, no instruction skip there)`,
          );
        }
        await this.plugin.setRegister(cpuOf(cpu), spec.gdb, value, where());
        this.options.record('register', `set ${spec.name} = 0x${value.toString(16)} on cpu ${cpuOf(cpu)}`, this.frozenAt?.timeNs);
      },
      all: async (cpu) => {
        const [arch, regs] = await Promise.all([this.architecture(cpuOf(cpu)), this.plugin.registers(cpuOf(cpu), where())]);
        return arch.registers.flatMap((spec): Array<[RegisterSpec, bigint]> => {
          const raw = regs.get(spec.gdb);
          return raw === undefined ? [] : [[spec, raw]];
        });
      },
    });
  }

  /**
   * A CPU's architecture, where the plugin reads its registers right: a CPU of another
   * architecture than QEMU's target (the ZynqMP's Cortex-R5s in `qemu-system-aarch64`) needs QEMU's
   * class-dispatching `gdb_read_register` (10.0 on); before, the plugin would read it the AArch64 way.
   */
  private async architecture(cpu: number): Promise<Architecture> {
    const arch = await this.options.architecture(cpu);
    const major = Number((this.plugin.qemuVersion ?? '0').split('.')[0]);
    if (arch.target !== this.plugin.hello.target && major < 10) {
      throw new UnsupportedError(
        `registers of CPU ${cpu}`,
        `it is ${arch.title} inside qemu-system-${this.plugin.hello.target}, whose registers QEMU ${this.plugin.qemuVersion} gives only the ${this.plugin.hello.target} way (QEMU 10.0 on read them by the CPU's own class)`,
      );
    }
    return arch;
  }

  /** The vCPU whose registers a callback sees: the one that froze (0 while paused). */
  private cpu(): number {
    return this.frozenAt?.hit.cpu ?? 0;
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
    // Without QEMU's internals its virtual clock cannot be read: the time is unknown (-1).
    const timeNs = this.plugin.hello.clock ? Number(await this.plugin.vtime()) : UNKNOWN_TIME;
    this.frozenAt = { hit, timeNs };
    let error: unknown;
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
      error = err;
    }
    if (this.afterFreeze(error) === 'stay') return;
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

  private async fire(
    id: number,
    kind: TriggerKind,
    callback: TriggerCallback,
    hit: PluginHit,
    timeNs: number,
    watch?: PluginWatchHit,
  ): Promise<void> {
    const access: AccessInfo | undefined = watch && {
      kind: watch.kind,
      address: Number(watch.address),
      size: watch.size,
      pc: Number(watch.pc),
    };
    const what = access
      ? `, ${access.kind} of ${access.size} bytes at 0x${access.address.toString(16)} by pc 0x${access.pc.toString(16)}`
      : '';
    const context: Omit<TriggerContext, 'hold'> = {
      kind,
      timeNs,
      instructions: hit.count,
      pc: Number(hit.pc),
      cpu: hit.cpu,
      registers: this.registers(() => false),
      ...(access ? { access } : {}),
    };
    await this.runCallback(id, callback, context, `, instruction ${hit.count}${what}`);
  }
}

function cpuFilter(cpu: number | undefined): { cpu?: number } {
  return cpu === undefined ? {} : { cpu };
}

/** The plugin answered without this register: it does not serve it on this CPU. */
function missing(spec: RegisterSpec): never {
  throw new UnsupportedError(`registers.get('${spec.name}')`, 'the plugin does not read this register on this CPU');
}
