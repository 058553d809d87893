import type { Architecture } from '../arch/index.js';
import { ChannelUnavailableError, InvalidArgumentError, UnsupportedError } from '../errors.js';
import type { GdbClient } from '../gdb/gdb-client.js';
import { checkAddress, checkCount } from '../integers.js';
import type { PluginChannel } from '../plugin/plugin-channel.js';
import { describeQemu } from '../plugin/refusal.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import { recordExecution } from '../triggers/execution-recorder.js';
import type { FreezeServer, WatchKind } from '../triggers/freeze-server.js';
import { PatchedTimeNotifier } from '../triggers/patched-time.js';
import { gdbRegisters, type Registers, whilePaused } from '../triggers/registers.js';
import { TriggerEngine } from '../triggers/trigger-engine.js';
import type { ExecutionRecording, TriggerCallback, TriggerHandle } from '../triggers/types.js';
import { checkCallback, checkHit, checkTimeNs } from './checks.js';
import type { InjectionTrace } from './injection-trace.js';

/** Where the guest's freezes come from, and what else the trigger calls use. */
export interface TriggerSources {
  qmp: QmpClient;
  plugin: PluginChannel | undefined;
  gdb: GdbClient | undefined;
  /** This QEMU has the original framework's patched `time-notify` (used when our plugin is absent). */
  patchedTime: boolean;
  callbackTimeoutMs: number | undefined;
  trace: InjectionTrace;
  /** A symbol's address in the kernel ELF. */
  symbol(name: string): number;
  /** A symbol's extent `[start, end)` in the kernel ELF (a function's body). */
  symbolExtent(name: string): [number, number];
  /** The architecture of a CPU (by index). */
  architecture(cpu: number): Promise<Architecture>;
}

/** Which CPU a trigger watches: any (default), or one, by index. */
export interface CpuOption {
  cpu?: number | undefined;
}

/** Where to record execution: a function (by symbol), or a pc range `[from, to)`. */
export type ExecutionRange = { in: string } | { from: string | number | bigint; to: string | number | bigint };

/**
 * The framework's time, trigger and register calls: arguments checked, symbols resolved, and
 * handed to whatever freezes the guest here — our plugin, or a patched QEMU's `time-notify` —
 * or a clear error saying what would.
 */
export class TriggerCalls {
  /** The freeze source, if this QEMU has one. */
  readonly engine: FreezeServer | undefined;
  private recordings = 0;

  constructor(private readonly sources: TriggerSources) {
    const { trace } = sources;
    const record = (kind: 'notify' | 'trigger' | 'register', text: string, timeNs: number | undefined) =>
      void trace.record(kind, text, timeNs);
    const architecture = (cpu: number) => sources.architecture(cpu);
    const options = { callbackTimeoutMs: sources.callbackTimeoutMs, record, architecture };
    if (sources.plugin) this.engine = new TriggerEngine(sources.plugin, options);
    else if (sources.patchedTime) {
      this.engine = new PatchedTimeNotifier(
        sources.qmp,
        sources.gdb && gdbRegisters(sources.gdb, (cpu) => architecture(cpu ?? 0)),
        options,
      );
    }
    if (this.engine) trace.clock = () => this.engine?.knownTimeNs();
  }

  now(): Promise<number> {
    this.needsGuestTime('now()');
    return this.require('now()').now();
  }

  instructions(cpu?: number): Promise<bigint> {
    return this.require('instructions()').instructions(cpu);
  }

  async notify(timeNs: number, callback: TriggerCallback, relative: boolean): Promise<TriggerHandle> {
    checkTimeNs(timeNs);
    checkCallback(callback);
    this.needsGuestTime('notify()');
    const engine = this.require('notify()');
    return engine.notify(relative ? (await engine.now()) + timeNs : timeNs, callback);
  }

  async at(where: string | number | bigint, callback: TriggerCallback, hit: number, options: CpuOption = {}): Promise<TriggerHandle> {
    const pc = this.location(where);
    checkHit(hit);
    checkCallback(callback);
    this.needsCpuIndex('at()', options);
    return this.require('at()').atPc(pc, hit, callback, options.cpu);
  }

  async watch(
    kind: WatchKind,
    where: string | number | bigint,
    size: number,
    callback: TriggerCallback,
    options: CpuOption = {},
  ): Promise<TriggerHandle> {
    const address = this.location(where);
    checkCount(size, 'size');
    checkCallback(callback);
    const feature = `on${kind[0]!.toUpperCase()}${kind.slice(1)}()`;
    const plugin = this.sources.plugin;
    if (plugin?.hello.watch === 'none') {
      throw new UnsupportedError(feature, `data watchpoints need QEMU internals or plugin API 2 (QEMU 9.0) (${describeQemu(plugin)})`);
    }
    this.needsCpuIndex(feature, options);
    return this.require(feature).watch(kind, address, size, callback, options.cpu);
  }

  /** Records every instruction executed in `range` from now until the recording is stopped. */
  recordExecution(range: ExecutionRange): Promise<ExecutionRecording> {
    const plugin = this.sources.plugin;
    if (!plugin) {
      throw new ChannelUnavailableError('qemu-fault plugin', 'recordExecution()', 'Use launch() (it loads the plugin).');
    }
    const [from, to] =
      'in' in range ? this.sources.symbolExtent(range.in) : [Number(this.location(range.from)), Number(this.location(range.to))];
    if (!(to > from)) throw new InvalidArgumentError(`an execution range must not be empty: 0x${from.toString(16)}..0x${to.toString(16)}`);
    return recordExecution(plugin, `rec${++this.recordings}`, from, to);
  }

  /** Registers at a freeze, or through the gdbstub while `paused()`. */
  registers(paused: () => boolean): Registers {
    if (this.engine) return this.engine.registers(paused);
    if (this.sources.gdb)
      return whilePaused(
        gdbRegisters(this.sources.gdb, (cpu) => this.sources.architecture(cpu ?? 0)),
        paused,
      );
    throw new ChannelUnavailableError('gdbstub', 'registers', 'Start QEMU with -gdb and pass it to connect(), or use launch().');
  }

  /** Guest time is QEMU's virtual clock: reading it, and stopping at it, need QEMU's internals. */
  private needsGuestTime(feature: string): void {
    const plugin = this.sources.plugin;
    if (plugin && !plugin.hello.clock) {
      throw new UnsupportedError(
        feature,
        `guest time needs QEMU's internal clock and timer functions, which no plugin API version offers (${describeQemu(plugin)})`,
      );
    }
  }

  /** A trigger for one CPU needs to know which CPU runs, which a plugin without QEMU's internals may not. */
  private needsCpuIndex(feature: string, options: CpuOption): void {
    const plugin = this.sources.plugin;
    if (options.cpu !== undefined && plugin?.hello.cpuIndex === 'block') {
      throw new UnsupportedError(
        `${feature} with { cpu }`,
        `with several CPUs on one thread the plugin API tells a callback the CPU that translated the code, not the one running it; the QEMU internals that tell are missing (${describeQemu(plugin)})`,
      );
    }
  }

  private require(feature: string): FreezeServer {
    if (!this.engine) {
      throw new ChannelUnavailableError('qemu-fault plugin', feature, 'Use launch() (it loads the plugin and runs QEMU under -icount).');
    }
    return this.engine;
  }

  private location(where: string | number | bigint): bigint {
    return typeof where === 'string' ? BigInt(this.sources.symbol(where)) : checkAddress(where);
  }
}
