import type { Architecture } from '../arch/index.js';
import type { ElfImage } from '../elf/elf-file.js';
import { ChannelUnavailableError, ConnectionClosedError } from '../errors.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import type { SerialCapture } from '../serial/serial-capture.js';
import type { SocketAddress } from '../transport/address.js';
import type { WatchKind } from '../triggers/freeze-server.js';
import type { RegisterName, Registers } from '../triggers/registers.js';
import type { ExecutionRecording, TriggerCallback, TriggerHandle } from '../triggers/types.js';
import { MachineArchitectures } from './architectures.js';
import { attach } from './attach.js';
import { checkCommandLine, checkName, checkSymbolName, checkVerbose } from './checks.js';
import { CpuState } from './cpu-state.js';
import { type CpuRef, Cpus } from './cpus.js';
import { driveGpio } from './gpio.js';
import { GuestMemory } from './guest-memory.js';
import { printHelp } from './help.js';
import { InjectionTrace, type VerboseLevel } from './injection-trace.js';
import { MemoryAccess } from './memory-access.js';
import type { BytesOptions, ConnectOptions, FrameworkChannels, FrameworkOptions, FrameworkSetup, RunStatus } from './options.js';
import { RunControl } from './run-control.js';
import { type RunOptions, type RunResult, runGuest } from './run-guest.js';
import { type ExecutionRange, TriggerCalls } from './trigger-calls.js';
import type { AccessSize, Address, ValueOf, WritableValue } from './values.js';

/**
 * Drives one QEMU for fault injection: memory from a CPU's view or physical, QOM properties,
 * GPIO lines, run control, triggers, symbols and serial output, over QMP and the side channels
 * stock QEMU offers (qtest, gdbstub) and our plugin. Get one from `launch()` or
 * {@link FaultInjectionFramework.connect}.
 */
export class FaultInjectionFramework {
  /** Everything injected so far, with guest times; printed live at `verbose >= 1`. */
  readonly trace: InjectionTrace;
  private readonly memory: GuestMemory;
  private readonly control: RunControl;
  private readonly triggers: TriggerCalls;
  private readonly cpuState: CpuState;
  private closing: Promise<void> | undefined;
  private readonly cleanups: Array<() => Promise<void> | void> = [];

  protected constructor(
    private readonly channels: FrameworkChannels,
    setup: FrameworkSetup,
  ) {
    const { trace, options } = setup;
    this.trace = trace;
    const { qmp, plugin, gdb } = channels;
    const cpus = new Cpus(qmp);
    const architectures = new MachineArchitectures(qmp, cpus);
    const symbol = (name: string) => this.symbol(name);
    const symbolExtent = (name: string): [number, number] => {
      const address = this.symbol(name);
      return [address, address + this.channels.elf!.symbol(name).size];
    };
    this.triggers = new TriggerCalls({
      qmp,
      plugin,
      gdb,
      patchedTime: setup.patchedTime,
      callbackTimeoutMs: options.callbackTimeoutMs,
      trace,
      symbol,
      symbolExtent,
      architecture: (cpu) => architectures.of(cpu),
    });
    const engine = this.triggers.engine;
    const control = new RunControl({ qmp, hmp: channels.hmp, engine, process: channels.process }, setup.running);
    this.control = control;
    const access = new MemoryAccess({
      ...{ qmp, gdb, qtest: channels.qtest },
      // A gdbstub byte would stop the VM, which waits for a vCPU the plugin holds frozen: never then.
      gdbUsable: () => !control.running && !control.frozen,
      patched: () => channels.qmp.hasCommand('memread'),
      frozen: { plugin, held: () => control.frozen },
    });
    this.memory = new GuestMemory(access, cpus, channels.elf?.endianness ?? 'little', trace);
    const paused = () => !control.running;
    this.cpuState = new CpuState({ triggers: this.triggers, cpus, architectures, memory: this.memory, paused, trace });
  }

  /** Asks QEMU for its run state (unless `running` is given) and whether it has the patched `time-notify`. */
  protected static async setup(
    channels: FrameworkChannels,
    options: FrameworkOptions & { trace?: InjectionTrace; running?: boolean },
  ): Promise<FrameworkSetup> {
    const running = options.running ?? (await channels.qmp.execute<{ running: boolean }>('query-status')).running;
    const patchedTime = !channels.plugin && (await channels.qmp.hasCommand('time-notify'));
    return { options, trace: options.trace ?? new InjectionTrace(options.verbose, options.log), running, patchedTime };
  }

  /**
   * Builds a framework over already-connected channels, asking QEMU for its run state unless
   * `running` is given.
   */
  static async create(
    channels: FrameworkChannels,
    options: FrameworkOptions & { trace?: InjectionTrace; running?: boolean } = {},
  ): Promise<FaultInjectionFramework> {
    return new FaultInjectionFramework(channels, await FaultInjectionFramework.setup(channels, options));
  }

  /**
   * Attaches to a QEMU started by hand, as the original framework did:
   * `qemu-system-arm ... -S -qmp unix:/path/to/qmp-sock,server,wait=off`.
   * Side channels are optional; what needs one says so when it is absent.
   */
  static connect(address: string | SocketAddress, options: ConnectOptions = {}): Promise<FaultInjectionFramework> {
    return attach(address, options, ({ channels, elf, trace }) =>
      FaultInjectionFramework.create({ ...channels, elf }, { ...options, trace }),
    );
  }

  /** The QMP connection, for commands the framework does not wrap. */
  get qmp(): QmpClient {
    return this.channels.qmp;
  }

  /** The QEMU version from the QMP greeting, e.g. `7.2.22`. */
  get version(): string {
    const v = this.channels.qmp.version;
    return `${v.major}.${v.minor}.${v.micro}`;
  }

  /** 0: quiet; 1: print each injection with its guest time; 2: also every protocol message. */
  get verbose(): VerboseLevel {
    return this.trace.verbose;
  }

  set verbose(level: VerboseLevel) {
    checkVerbose(level);
    this.trace.verbose = level;
  }

  /** The guest's serial port output. Throws if QEMU's serial port is not connected to us. */
  get serial(): SerialCapture {
    if (!this.channels.serial) {
      throw new ChannelUnavailableError('serial', 'serial capture', 'Pass `serial` to connect() (a socket chardev), or use launch().');
    }
    return this.channels.serial;
  }

  /** The kernel ELF image, when one is known. */
  get elf(): ElfImage | undefined {
    return this.channels.elf;
  }

  /**
   * The guest time in nanoseconds: QEMU's virtual clock, which under `-icount` advances with
   * executed instructions and jumps over idle (WFI) periods as the guest's own timers see it.
   * Exact while the guest is paused or frozen in a callback.
   */
  now(): Promise<number> {
    return this.talk(() => this.triggers.now());
  }

  /** Instructions started since QEMU started, by every CPU or by `options.cpu` (exact while paused or frozen). */
  instructions(options: { cpu?: CpuRef } = {}): Promise<bigint> {
    return this.talk(async () => this.triggers.instructions(await this.cpuState.index(options.cpu)));
  }

  /** The architecture of a CPU (default 0): register names and widths, instruction sizes, semihosting. */
  architecture(cpu: CpuRef = 0): Promise<Architecture> {
    return this.talk(() => this.cpuState.architecture(cpu));
  }

  /**
   * Runs `callback` with the guest frozen at guest time `timeNs` (absolute, or from now with
   * `relative`). The guest resumes when the callback settles; a callback that throws fails the run.
   */
  notify(timeNs: number, callback: TriggerCallback, options: { relative?: boolean } = {}): Promise<TriggerHandle> {
    return this.talk(() => this.triggers.notify(timeNs, callback, options.relative ?? false));
  }

  /**
   * Runs `callback` with the guest frozen just before the instruction at `where` (a symbol or an
   * address) executes for the `hit`-th time (default 1), by any CPU or only by `cpu`.
   */
  at(where: string | Address, callback: TriggerCallback, options: { hit?: number; cpu?: CpuRef } = {}): Promise<TriggerHandle> {
    return this.talk(async () => this.triggers.at(where, callback, options.hit ?? 1, { cpu: await this.cpuState.index(options.cpu) }));
  }

  /**
   * Records every instruction executed in a function (`{ in: 'verify_pin' }`) or a pc range
   * (`{ from, to }`, symbols or addresses, `to` excluded) from now on, in execution order, with
   * each pc's execution count: what `at(pc, cb, { hit })` needs to come back to any of them.
   */
  recordExecution(range: ExecutionRange): Promise<ExecutionRecording> {
    return this.talk(() => this.triggers.recordExecution(range));
  }

  /** Runs `callback` right after each guest write to [address, address + size), before the next instruction. */
  onWrite(where: string | Address, size: number, callback: TriggerCallback, options: { cpu?: CpuRef } = {}): Promise<TriggerHandle> {
    return this.watch('write', where, size, callback, options.cpu);
  }

  /** Runs `callback` right after each guest read of [address, address + size). */
  onRead(where: string | Address, size: number, callback: TriggerCallback, options: { cpu?: CpuRef } = {}): Promise<TriggerHandle> {
    return this.watch('read', where, size, callback, options.cpu);
  }

  /** Runs `callback` right after each guest read or write of [address, address + size). */
  onAccess(where: string | Address, size: number, callback: TriggerCallback, options: { cpu?: CpuRef } = {}): Promise<TriggerHandle> {
    return this.watch('access', where, size, callback, options.cpu);
  }

  /**
   * Core registers by the architecture's gdb names ({@link RegisterName}): the frozen CPU's in a
   * callback, CPU 0's while paused, any CPU's with `{ cpu }`. A `number` up to 32 bits, else `bigint`.
   */
  get registers(): Registers<CpuRef> {
    return this.cpuState.registers((call) => this.talk(call));
  }

  /**
   * Moves the PC of the frozen (or paused, `cpu`'s, default 0) CPU past its next `count` instructions
   * by their real sizes (Thumb 2/4 bytes, A32/A64 4, RISC-V 2/4). Resolves with the new PC.
   */
  skip(count = 1, options: { cpu?: CpuRef } = {}): Promise<bigint> {
    return this.talk(() => this.cpuState.skip(count, options.cpu));
  }

  /**
   * Starts or resumes the guest and serves triggers until it exits or shuts down, a callback holds
   * it (`ctx.hold()`), or an option says stop (`forNs`, `until`, `timeoutMs`). Resolves with why it
   * stopped and when.
   */
  run(options: RunOptions = {}): Promise<RunResult> {
    const engine = this.triggers.engine;
    const deps = {
      qmp: this.channels.qmp,
      engine,
      serial: this.channels.serial,
      exited: this.channels.process?.exited,
      // Not through talk(): the run itself tells a guest that ended at once from a lost QEMU.
      resume: () => this.control.cont(),
      pause: () => this.control.stop(),
      now: () => (engine ? engine.now().catch(() => undefined) : Promise.resolve(undefined)),
    };
    return this.talk(() => runGuest(deps, options));
  }

  private watch(kind: WatchKind, where: string | Address, size: number, callback: TriggerCallback, cpu: CpuRef | undefined) {
    return this.talk(async () => this.triggers.watch(kind, where, size, callback, { cpu: await this.cpuState.index(cpu) }));
  }

  /** The address of `name` in the kernel ELF (Thumb bit cleared for functions). */
  symbol(name: string): number {
    checkSymbolName(name);
    if (!this.channels.elf) {
      throw new ChannelUnavailableError('kernel ELF', `symbol('${name}')`, 'Pass `kernel` to launch() or connect().');
    }
    return this.channels.elf.symbol(name).address;
  }

  /** Reads `size` bytes at `address` from `cpu`'s view, in the target's byte order. */
  read<S extends AccessSize>(address: Address, size: S, cpu: CpuRef = 0): Promise<ValueOf<S>> {
    return this.talk(() => this.memory.read(address, size, cpu));
  }

  /** Writes `value` as `size` bytes at `address` through `cpu`'s view, in the target's byte order. */
  write<S extends AccessSize>(address: Address, value: WritableValue<S>, size: S, cpu: CpuRef = 0): Promise<void> {
    return this.talk(() => this.memory.write(address, value, size, cpu));
  }

  /** Reads `size` bytes from the system address space (RAM and MMIO, no MMU). */
  readPhysical<S extends AccessSize>(address: Address, size: S): Promise<ValueOf<S>> {
    return this.talk(() => this.memory.readPhysical(address, size));
  }

  /** Writes `size` bytes into the system address space (RAM and MMIO, no MMU). */
  writePhysical<S extends AccessSize>(address: Address, value: WritableValue<S>, size: S): Promise<void> {
    return this.talk(() => this.memory.writePhysical(address, value, size));
  }

  /** Reads `length` bytes, from a CPU's view by default. */
  readBytes(address: Address, length: number, options: BytesOptions = {}): Promise<Buffer> {
    return this.talk(() => this.memory.readBytes(address, length, options));
  }

  /** Writes a buffer, through a CPU's view by default. */
  writeBytes(address: Address, data: Uint8Array, options: BytesOptions = {}): Promise<void> {
    return this.talk(() => this.memory.writeBytes(address, data, options));
  }

  /** Reads a QOM property (`qom-get`). */
  getQomProperty<T = unknown>(path: string, property: string): Promise<T> {
    return this.talk(async () => {
      checkName(path, 'QOM path');
      checkName(property, 'QOM property');
      return this.channels.qmp.execute<T>('qom-get', { path, property });
    });
  }

  /** Writes a QOM property (`qom-set`). */
  setQomProperty(path: string, property: string, value: unknown): Promise<void> {
    return this.talk(async () => {
      checkName(path, 'QOM path');
      checkName(property, 'QOM property');
      await this.channels.qmp.execute('qom-set', { path, property, value });
      this.trace.record('qom-set', `qom-set ${path}.${property} = ${JSON.stringify(value)}`);
    });
  }

  /**
   * Drives GPIO input `num` of the device at QOM `path` to `value`. `gpio` names the input
   * group; null/undefined means the device's unnamed inputs.
   */
  setGpio(path: string, gpio: string | null | undefined, num: number, value: boolean | 0 | 1): Promise<void> {
    const { qmp, qtest } = this.channels;
    return this.talk(() => driveGpio({ qmp, qtest, trace: this.trace }, path, gpio, num, value));
  }

  /** Resumes the guest: lets a frozen guest go on, or `cont`. Triggers keep being served. */
  cont(): Promise<void> {
    return this.talk(() => this.control.cont());
  }

  /** Pauses the guest (`stop`); a guest frozen in a trigger is already paused. */
  stop(): Promise<void> {
    return this.talk(() => this.control.stop());
  }

  /**
   * Makes a guest held at a freeze (a run that ended with `reason: 'held'` or `'time'`) a stopped
   * VM, as `savevm` and `loadvm` need: the vCPU leaves the freeze, runs the rest of the
   * translation block it froze in, and stops. Resolves once QEMU reports it stopped (or has
   * exited: the rest of the block may end the program). A guest that is not held is paused as by
   * {@link stop}.
   */
  stopHeld(): Promise<void> {
    return this.talk(() => this.control.stopHeld());
  }

  /** The run state: QEMU's (`query-status`), or `frozen` while a trigger holds the guest. */
  status(): Promise<RunStatus> {
    return this.talk(() => this.control.status());
  }

  /**
   * Runs an HMP (human monitor) command line and resolves with its output: through the human
   * monitor channel when QEMU was launched with one (`channels: { hmp: true }`), else QMP's
   * `human-monitor-command`.
   */
  hmp(commandLine: string): Promise<string> {
    return this.talk(async () => {
      checkCommandLine(commandLine);
      return this.control.hmp(commandLine);
    });
  }

  /** Prints and returns the list of commands, as the original framework's `help()` did. */
  help(): string {
    const { qtest, gdb, serial, elf } = this.channels;
    return printHelp(this.version, { qtest: !!qtest, gdbstub: !!gdb, serial: !!serial, kernel: !!elf });
  }

  /** Registers work for {@link close}, run in reverse order of registration. */
  onClose(cleanup: () => Promise<void> | void): void {
    this.cleanups.push(cleanup);
  }

  /** Disconnects (and, for a launched QEMU, quits it and removes its temp dir). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const errors: unknown[] = [];
      for (const cleanup of [...this.cleanups.reverse(), () => this.control.close()]) {
        try {
          await cleanup();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length) throw errors[0];
    })();
    return this.closing;
  }

  /** Lets `await using qemu = await launch(...)` close QEMU at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Every call that talks to QEMU goes through here, so that a lost connection is explained in
   * this one place: "QEMU was killed by SIGKILL", with its stderr tail, says what happened where
   * "connection ended (ECONNRESET)" only says where it was noticed.
   */
  private async talk<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      const explain = this.channels.explainLostConnection;
      if (explain && err instanceof ConnectionClosedError) throw await explain(err);
      throw err;
    }
  }
}
