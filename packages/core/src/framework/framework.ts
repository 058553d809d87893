import type { ElfImage } from '../elf/elf-file.js';
import { readElf } from '../elf/elf-file.js';
import { ChannelUnavailableError, ConnectionClosedError, InvalidArgumentError, QemuExitedError } from '../errors.js';
import { GdbClient } from '../gdb/gdb-client.js';
import { checkAddress, checkCount, checkTransferLength, describeValue } from '../integers.js';
import type { ExitInfo, QemuProcess } from '../launch/qemu-process.js';
import type { PluginChannel } from '../plugin/plugin-channel.js';
import { QmpClient } from '../qmp/qmp-client.js';
import { QtestClient } from '../qtest/qtest-client.js';
import { SerialCapture } from '../serial/serial-capture.js';
import type { SocketAddress } from '../transport/address.js';
import { connectSocket } from '../transport/connect.js';
import type { FreezeServer, WatchKind } from '../triggers/freeze-server.js';
import { PatchedTimeNotifier } from '../triggers/patched-time.js';
import type { Registers } from '../triggers/registers.js';
import { gdbRegisters, whilePaused } from '../triggers/registers.js';
import { TriggerEngine } from '../triggers/trigger-engine.js';
import type { TriggerCallback, TriggerHandle } from '../triggers/types.js';
import { within } from '../wait.js';
import { type CpuRef, Cpus } from './cpus.js';
import { checkGpioInput, UNNAMED_GPIO_IN } from './gpio.js';
import { formatHelp } from './help.js';
import { InjectionTrace, type LogSink, type VerboseLevel } from './injection-trace.js';
import { MemoryAccess } from './memory-access.js';
import { type RunOptions, type RunResult, runGuest } from './run-guest.js';
import {
  type AccessSize,
  type Address,
  checkSize,
  decodeValue,
  type Endianness,
  encodeValue,
  formatHex,
  toUnsigned,
  type ValueOf,
  type WritableValue,
} from './values.js';

/** The connections a framework instance drives. Only QMP is required. */
export interface FrameworkChannels {
  qmp: QmpClient;
  /** Our TCG plugin: guest time, time/PC/data triggers, registers at freezes. */
  plugin?: PluginChannel | undefined;
  /** Settles when a QEMU we started exits, with its exit code. */
  exited?: Promise<ExitInfo> | undefined;
  /**
   * A QEMU we started: lets a lost connection be reported as what it is, QEMU's exit (how it
   * ended, what it last wrote to stderr), instead of a bare "connection closed".
   */
  process?: Pick<QemuProcess, 'exited' | 'describeExit' | 'stderr'> | undefined;
  qtest?: QtestClient | undefined;
  gdb?: GdbClient | undefined;
  serial?: SerialCapture | undefined;
  /** The kernel image, for {@link FaultInjectionFramework.symbol} and the target's byte order. */
  elf?: ElfImage | undefined;
}

/** Options shared by {@link FaultInjectionFramework.connect} and `launch()`. */
export interface FrameworkOptions {
  /** 0: quiet; 1: print each injection with its guest time; 2: also every protocol message. */
  verbose?: VerboseLevel;
  /** Where verbose lines go (default: `console.log`). */
  log?: LogSink;
  /** Bound on one trigger callback (default 30 000 ms): one that never settles fails the run. */
  callbackTimeoutMs?: number;
}

/** Options for attaching to a QEMU started by hand. */
export interface ConnectOptions extends FrameworkOptions {
  /** The qtest socket, if QEMU was started with `-qtest` (needed for physical writes and GPIO on stock QEMU). */
  qtest?: string | SocketAddress;
  /** The gdbstub socket, if QEMU was started with `-gdb` (needed for registers, breakpoints and watchpoints). */
  gdb?: string | SocketAddress;
  /** A socket chardev carrying the guest's serial port, to capture its output. */
  serial?: string | SocketAddress;
  /** The kernel ELF, for symbols. */
  kernel?: string;
  /** Connection timeout per socket (default 5000 ms). */
  timeoutMs?: number;
}

/** Options for bulk accesses. */
export interface BytesOptions {
  /** The CPU whose view is used (default 0); ignored with `physical`. */
  cpu?: CpuRef;
  /** Use the system address space instead of a CPU's view. */
  physical?: boolean;
}

/** QEMU's run state as `query-status` reports it. */
export interface RunStatus {
  running: boolean;
  status: string;
}

/**
 * Drives one QEMU for fault injection: memory from a CPU's view or physical, QOM properties,
 * GPIO lines, run control, symbols and serial output, over QMP and the side channels stock QEMU
 * offers (qtest, gdbstub). Get one from `launch()` or {@link FaultInjectionFramework.connect}.
 */
export class FaultInjectionFramework {
  /** Everything injected so far, with guest times; printed live at `verbose >= 1`. */
  readonly trace: InjectionTrace;
  private readonly memory: MemoryAccess;
  private readonly cpus: Cpus;
  private readonly endianness: Endianness;
  private running = false;
  /** The reason of QEMU's last SHUTDOWN event (e.g. `guest-reset` under -no-reboot), to explain an exit. */
  private shutdownReason: string | undefined;
  private readonly engine: FreezeServer | undefined;
  private closing: Promise<void> | undefined;
  private readonly cleanups: Array<() => Promise<void> | void> = [];

  protected constructor(
    private readonly channels: FrameworkChannels,
    trace: InjectionTrace,
    running: boolean,
    options: FrameworkOptions,
    /** This QEMU has the original framework's patched `time-notify` (used when our plugin is absent). */
    patchedTime: boolean,
  ) {
    this.trace = trace;
    this.running = running;
    const record = (kind: 'notify' | 'trigger' | 'register', text: string, timeNs: number | undefined) =>
      void trace.record(kind, text, timeNs);
    const serverOptions = { callbackTimeoutMs: options.callbackTimeoutMs, record };
    if (channels.plugin) this.engine = new TriggerEngine(channels.plugin, serverOptions);
    else if (patchedTime) this.engine = new PatchedTimeNotifier(channels.qmp, channels.gdb && gdbRegisters(channels.gdb), serverOptions);
    if (this.engine) trace.clock = () => this.engine?.knownTimeNs();
    this.endianness = channels.elf?.endianness ?? 'little';
    this.cpus = new Cpus(channels.qmp);
    this.memory = new MemoryAccess({
      qmp: channels.qmp,
      qtest: channels.qtest,
      gdb: channels.gdb,
      // A gdbstub byte would stop the VM, which waits for a vCPU the plugin holds frozen: never then.
      gdbUsable: () => !this.running && !this.engine?.frozen,
      patched: () => channels.qmp.hasCommand('memread'),
    });
    this.cleanups.push(
      channels.qmp.events.on('STOP', () => void (this.running = false)),
      channels.qmp.events.on('RESUME', () => void (this.running = true)),
      channels.qmp.events.on(
        'SHUTDOWN',
        (e) => void (this.shutdownReason = typeof e.data['reason'] === 'string' ? e.data['reason'] : 'unknown'),
      ),
    );
    if (channels.process) this.explainLostConnections(channels.process);
  }

  /**
   * Makes every command that talks to QEMU turn a {@link ConnectionClosedError} into a
   * {@link QemuExitedError} when QEMU has exited: "QEMU was killed by SIGKILL", with its stderr
   * tail, says what happened; "connection ended (ECONNRESET)" only says where it was noticed.
   * Wrapped per instance so each method stays as it reads.
   */
  private explainLostConnections(process: NonNullable<FrameworkChannels['process']>): void {
    for (const name of TALKS_TO_QEMU) {
      const original = this[name] as (...args: unknown[]) => Promise<unknown>;
      const wrapped = (...args: unknown[]): Promise<unknown> =>
        original.apply(this, args).catch(async (err: unknown) => {
          if (!(err instanceof ConnectionClosedError)) throw err;
          // The sockets close a moment before the exit is reaped: wait for it, briefly.
          const exit = await within(process.exited, EXIT_WAIT_MS);
          if (!exit) throw err;
          const after = this.shutdownReason ? ` after a QMP SHUTDOWN (${this.shutdownReason})` : '';
          throw new QemuExitedError(`${process.describeExit()}${after}; ${err.message}`, {
            stderrTail: process.stderr.text(),
            exitCode: exit.exitCode,
            signal: exit.signal,
            cause: err,
          });
        });
      Object.defineProperty(this, name, { value: wrapped, configurable: true, writable: true });
    }
  }

  /**
   * Builds a framework over already-connected channels, asking QEMU for its run state unless
   * `running` is given. Used by `launch()` and {@link connect}.
   */
  static async create(
    channels: FrameworkChannels,
    options: FrameworkOptions & { trace?: InjectionTrace; running?: boolean } = {},
  ): Promise<FaultInjectionFramework> {
    const running = options.running ?? (await channels.qmp.execute<{ running: boolean }>('query-status')).running;
    const patchedTime = !channels.plugin && (await channels.qmp.hasCommand('time-notify'));
    return new FaultInjectionFramework(
      channels,
      options.trace ?? new InjectionTrace(options.verbose, options.log),
      running,
      options,
      patchedTime,
    );
  }

  /**
   * Attaches to a QEMU started by hand, as the original framework did:
   * `qemu-system-arm ... -S -qmp unix:/path/to/qmp-sock,server,wait=off`.
   * Side channels are optional; what needs one says so when it is absent.
   */
  static async connect(address: string | SocketAddress, options: ConnectOptions = {}): Promise<FaultInjectionFramework> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const trace = new InjectionTrace(options.verbose, options.log);
    const qmp = await QmpClient.connect(address, { timeoutMs, trace: trace.channel('qmp') });
    try {
      const [qtest, gdb, serialSocket, elf] = await Promise.all([
        options.qtest ? QtestClient.connect(options.qtest, { timeoutMs, trace: trace.channel('qtest') }) : undefined,
        options.gdb ? GdbClient.connect(options.gdb, { timeoutMs, trace: trace.channel('gdb') }) : undefined,
        options.serial ? connectSocket(options.serial, { timeoutMs }) : undefined,
        options.kernel ? readElf(options.kernel) : undefined,
      ]);
      let serial: SerialCapture | undefined;
      if (serialSocket) {
        serial = new SerialCapture();
        serial.attach(serialSocket);
      }
      const framework = await FaultInjectionFramework.create({ qmp, qtest, gdb, serial, elf }, { ...options, trace });
      framework.onClose(async () => {
        serialSocket?.destroy();
        await Promise.all([qtest?.close(), gdb?.close(), qmp.close()]);
      });
      return framework;
    } catch (err) {
      await qmp.close();
      throw err;
    }
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
    if (level !== 0 && level !== 1 && level !== 2) throw new InvalidArgumentError(`verbose must be 0, 1 or 2, got ${describeValue(level)}`);
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
  async now(): Promise<number> {
    return this.triggers('now()').now();
  }

  /** Instructions started since QEMU started (exact while paused or frozen). */
  async instructions(): Promise<bigint> {
    return this.triggers('instructions()').instructions();
  }

  /**
   * Runs `callback` with the guest frozen at guest time `timeNs` (absolute, or from now with
   * `relative`). The guest resumes when the callback settles; a callback that throws fails the run.
   */
  async notify(timeNs: number, callback: TriggerCallback, options: { relative?: boolean } = {}): Promise<TriggerHandle> {
    if (typeof timeNs !== 'number' || !Number.isSafeInteger(timeNs) || timeNs < 0) {
      throw new InvalidArgumentError(`time must be a non-negative integer number of nanoseconds, got ${describeValue(timeNs)}`);
    }
    checkCallback(callback);
    const engine = this.triggers('notify()');
    return engine.notify(options.relative ? (await engine.now()) + timeNs : timeNs, callback);
  }

  /**
   * Runs `callback` with the guest frozen just before the instruction at `where` (a symbol or an
   * address) executes for the `hit`-th time (default 1).
   */
  async at(where: string | number, callback: TriggerCallback, options: { hit?: number } = {}): Promise<TriggerHandle> {
    const pc = typeof where === 'string' ? this.symbol(where) : Number(checkAddress(where));
    const hit = options.hit ?? 1;
    if (!Number.isSafeInteger(hit) || hit < 1) throw new InvalidArgumentError(`hit must be a positive integer, got ${hit}`);
    checkCallback(callback);
    return this.triggers('at()').atPc(pc, hit, callback);
  }

  /** Runs `callback` right after each guest write to [address, address + size), before the next instruction. */
  onWrite(where: string | number, size: number, callback: TriggerCallback): Promise<TriggerHandle> {
    return this.watch('write', where, size, callback);
  }

  /** Runs `callback` right after each guest read of [address, address + size). */
  onRead(where: string | number, size: number, callback: TriggerCallback): Promise<TriggerHandle> {
    return this.watch('read', where, size, callback);
  }

  /** Runs `callback` right after each guest read or write of [address, address + size). */
  onAccess(where: string | number, size: number, callback: TriggerCallback): Promise<TriggerHandle> {
    return this.watch('access', where, size, callback);
  }

  private async watch(kind: WatchKind, where: string | number, size: number, callback: TriggerCallback): Promise<TriggerHandle> {
    const address = typeof where === 'string' ? this.symbol(where) : Number(checkAddress(where));
    checkCount(size, 'size');
    checkCallback(callback);
    return this.triggers(`on${kind[0]!.toUpperCase()}${kind.slice(1)}()`).watch(kind, address, size, callback);
  }

  /**
   * The CPU's registers (r0–r15, sp, lr, pc, xpsr): inside a trigger callback, or while the guest
   * is paused.
   */
  get registers(): Registers {
    if (this.engine) return this.engine.registers(() => !this.running);
    if (this.channels.gdb) return whilePaused(gdbRegisters(this.channels.gdb), () => !this.running);
    throw new ChannelUnavailableError('gdbstub', 'registers', 'Start QEMU with -gdb and pass it to connect(), or use launch().');
  }

  /**
   * Starts or resumes the guest and serves triggers until it exits or shuts down, or until an
   * option says stop (`forNs`, `until`, `timeoutMs`). Resolves with why it stopped and when.
   */
  run(options: RunOptions = {}): Promise<RunResult> {
    return runGuest(
      {
        qmp: this.channels.qmp,
        engine: this.engine,
        serial: this.channels.serial,
        exited: this.channels.exited,
        resume: () => this.cont(),
        pause: () => this.stop(),
        now: () => (this.engine ? this.engine.now().catch(() => undefined) : Promise.resolve(undefined)),
      },
      options,
    );
  }

  private triggers(feature: string): FreezeServer {
    if (!this.engine) {
      throw new ChannelUnavailableError('qemu-fault plugin', feature, 'Use launch() (it loads the plugin and runs QEMU under -icount).');
    }
    return this.engine;
  }

  /** The address of `name` in the kernel ELF (Thumb bit cleared for functions). */
  symbol(name: string): number {
    if (typeof name !== 'string') throw new InvalidArgumentError(`a symbol name must be a string, got ${describeValue(name)}`);
    if (!this.channels.elf) {
      throw new ChannelUnavailableError('kernel ELF', `symbol('${name}')`, 'Pass `kernel` to launch() or connect().');
    }
    return this.channels.elf.symbol(name).address;
  }

  /** Reads `size` bytes at `address` from `cpu`'s view, in the target's byte order. */
  async read<S extends AccessSize>(address: Address, size: S, cpu: CpuRef = 0): Promise<ValueOf<S>> {
    checkSize(size);
    const addr = checkAddress(address, size);
    const index = await this.cpus.index(cpu);
    const value = decodeValue(await this.memory.readVirtual(addr, size, index), size, this.endianness);
    this.trace.record('read', `read @${formatHex(addr)} size ${size} value ${formatHex(value)} from cpu ${index}`);
    return value;
  }

  /** Writes `value` as `size` bytes at `address` through `cpu`'s view, in the target's byte order. */
  async write<S extends AccessSize>(address: Address, value: WritableValue<S>, size: S, cpu: CpuRef = 0): Promise<void> {
    checkSize(size);
    const addr = checkAddress(address, size);
    const v = toUnsigned(value, size);
    const index = await this.cpus.index(cpu);
    await this.memory.writeVirtual(addr, encodeValue(v, size, this.endianness), index);
    this.trace.record('write', `write @${formatHex(addr)} size ${size} value ${formatHex(v)} from cpu ${index}`);
  }

  /** Reads `size` bytes from the system address space (RAM and MMIO, no MMU). */
  async readPhysical<S extends AccessSize>(address: Address, size: S): Promise<ValueOf<S>> {
    checkSize(size);
    const addr = checkAddress(address, size);
    const value = decodeValue(await this.memory.readPhysical(addr, size), size, this.endianness);
    this.trace.record('read', `read @${formatHex(addr)} size ${size} value ${formatHex(value)} physical`);
    return value;
  }

  /** Writes `size` bytes into the system address space (RAM and MMIO, no MMU). */
  async writePhysical<S extends AccessSize>(address: Address, value: WritableValue<S>, size: S): Promise<void> {
    checkSize(size);
    const addr = checkAddress(address, size);
    const v = toUnsigned(value, size);
    await this.memory.writePhysical(addr, encodeValue(v, size, this.endianness));
    this.trace.record('write', `write @${formatHex(addr)} size ${size} value ${formatHex(v)} physical`);
  }

  /** Reads `length` bytes, from a CPU's view by default. */
  async readBytes(address: Address, length: number, options: BytesOptions = {}): Promise<Buffer> {
    checkTransferLength(length);
    const addr = checkAddress(address, length);
    if (length === 0) return Buffer.alloc(0);
    if (options.physical) return this.memory.readPhysical(addr, length);
    return this.memory.readVirtual(addr, length, await this.cpus.index(options.cpu));
  }

  /** Writes a buffer, through a CPU's view by default. */
  async writeBytes(address: Address, data: Uint8Array, options: BytesOptions = {}): Promise<void> {
    if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('data must be a Buffer or Uint8Array');
    const addr = checkAddress(address, data.length);
    if (data.length === 0) return;
    const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
    if (options.physical) await this.memory.writePhysical(addr, buf);
    else await this.memory.writeVirtual(addr, buf, await this.cpus.index(options.cpu));
    this.trace.record('write', `write @${formatHex(addr)} ${data.length} bytes${options.physical ? ' physical' : ''}`);
  }

  /** Reads a QOM property (`qom-get`). */
  async getQomProperty<T = unknown>(path: string, property: string): Promise<T> {
    checkName(path, 'QOM path');
    checkName(property, 'QOM property');
    return this.channels.qmp.execute<T>('qom-get', { path, property });
  }

  /** Writes a QOM property (`qom-set`). */
  async setQomProperty(path: string, property: string, value: unknown): Promise<void> {
    checkName(path, 'QOM path');
    checkName(property, 'QOM property');
    await this.channels.qmp.execute('qom-set', { path, property, value });
    this.trace.record('qom-set', `qom-set ${path}.${property} = ${JSON.stringify(value)}`);
  }

  /**
   * Drives GPIO input `num` of the device at QOM `path` to `value`. `gpio` names the input
   * group; null/undefined means the device's unnamed inputs.
   */
  async setGpio(path: string, gpio: string | null | undefined, num: number, value: boolean | 0 | 1): Promise<void> {
    // Every argument is checked before anything is sent: QEMU would take (or die of) what we do not refuse.
    checkName(path, 'QOM path');
    if (gpio !== null && gpio !== undefined && typeof gpio !== 'string')
      throw new InvalidArgumentError(`GPIO name must be a string, null or undefined, got ${describeValue(gpio)}`);
    checkCount(num, 'GPIO number');
    if (value !== 0 && value !== 1 && typeof value !== 'boolean')
      throw new InvalidArgumentError(`GPIO value must be 0, 1 or a boolean, got ${describeValue(value)}`);
    const level = value === true || value === 1;
    if (await this.channels.qmp.hasCommand('gpio-set')) {
      await this.channels.qmp.execute('gpio-set', { path, ...(gpio ? { gpio } : {}), number: num, value: level });
    } else {
      const name = gpio ?? UNNAMED_GPIO_IN;
      await checkGpioInput(this.channels.qmp, path, name, num);
      if (!this.channels.qtest) {
        throw new ChannelUnavailableError(
          'qtest',
          'setGpio()',
          'Start QEMU with -accel tcg -qtest unix:PATH,server=on,wait=off -qtest-log /dev/null, or use launch().',
        );
      }
      await this.channels.qtest.setIrqIn(path, gpio ?? undefined, num, level ? 1 : 0);
    }
    this.trace.record('gpio', `gpio ${path} ${gpio ?? UNNAMED_GPIO_IN}[${num}] = ${level ? 1 : 0}`);
  }

  /** Resumes the guest: lets a frozen guest go on, or QMP `cont`. Triggers keep being served. */
  async cont(): Promise<void> {
    if (this.engine?.frozen) return this.engine.release();
    await this.channels.qmp.execute('cont');
    this.running = true;
  }

  /** Pauses the guest (QMP `stop`); a guest frozen in a trigger is already paused. */
  async stop(): Promise<void> {
    if (this.engine?.frozen) return;
    await this.channels.qmp.execute('stop');
    this.running = false;
  }

  /** The run state: QEMU's (`query-status`), or `frozen` while a trigger holds the guest. */
  async status(): Promise<RunStatus> {
    if (this.engine?.frozen) return { running: false, status: 'frozen' };
    const s = await this.channels.qmp.execute<RunStatus>('query-status');
    this.running = s.running;
    return { running: s.running, status: s.status };
  }

  /** Prints and returns the list of commands, as the original framework's `help()` did. */
  help(): string {
    const text = formatHelp(this.version, {
      qtest: !!this.channels.qtest,
      gdbstub: !!this.channels.gdb,
      serial: !!this.channels.serial,
      kernel: !!this.channels.elf,
    });
    console.log(text);
    return text;
  }

  /** Registers work for {@link close}, run in reverse order of registration. */
  onClose(cleanup: () => Promise<void> | void): void {
    this.cleanups.push(cleanup);
  }

  /** Disconnects (and, for a launched QEMU, quits it and removes its temp dir). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const errors: unknown[] = [];
      for (const cleanup of this.cleanups.reverse()) {
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
}

/** How long a lost connection waits for QEMU's exit to be known before it is reported as it is. */
const EXIT_WAIT_MS = 1000;

/** The methods that send something to QEMU (see `explainLostConnections`). */
const TALKS_TO_QEMU = [
  'read',
  'write',
  'readPhysical',
  'writePhysical',
  'readBytes',
  'writeBytes',
  'getQomProperty',
  'setQomProperty',
  'setGpio',
  'cont',
  'stop',
  'status',
  'now',
  'instructions',
  'notify',
  'at',
  'onWrite',
  'onRead',
  'onAccess',
  'run',
] as const satisfies ReadonlyArray<keyof FaultInjectionFramework>;

function checkName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || name === '')
    throw new InvalidArgumentError(`${what} must be a non-empty string, got ${describeValue(name)}`);
}

function checkCallback(callback: unknown): asserts callback is TriggerCallback {
  if (typeof callback !== 'function') throw new InvalidArgumentError('the callback must be a function');
}
