import type { ElfImage } from '../elf/elf-file.js';
import type { ConnectionClosedError } from '../errors.js';
import type { GdbClient } from '../gdb/gdb-client.js';
import type { QemuProcess } from '../launch/qemu-process.js';
import type { PluginChannel } from '../plugin/plugin-channel.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import type { QtestClient } from '../qtest/qtest-client.js';
import type { SerialCapture } from '../serial/serial-capture.js';
import type { SocketAddress } from '../transport/address.js';
import type { CpuRef } from './cpus.js';
import type { InjectionTrace, LogSink, VerboseLevel } from './injection-trace.js';

/** A human monitor (HMP) connection: one command line in, its output back. */
export interface HumanMonitor {
  execute(command: string): Promise<string>;
}

/**
 * Turns the {@link ConnectionClosedError} of a lost connection into what it means for the caller,
 * typically a `QemuExitedError` once QEMU is seen to have exited; resolving with `lost` keeps it.
 */
export type ExplainLostConnection = (lost: ConnectionClosedError) => Promise<Error>;

/** The connections a framework instance drives. Only QMP is required. */
export interface FrameworkChannels {
  qmp: QmpClient;
  /** Our TCG plugin: guest time, time/PC/data triggers, registers at freezes. */
  plugin?: PluginChannel | undefined;
  qtest?: QtestClient | undefined;
  gdb?: GdbClient | undefined;
  serial?: SerialCapture | undefined;
  /** A human monitor on its own socket: run control (`cont`, `stop`) and `hmp()` go through it. */
  hmp?: HumanMonitor | undefined;
  /** The kernel image, for `symbol()` and the target's byte order. */
  elf?: ElfImage | undefined;
  /** A QEMU this process started: its exit ends a run, its pid shows when its main thread waits (`stopHeld()`). */
  process?: Pick<QemuProcess, 'pid' | 'exited'> | undefined;
  /** Says what a lost connection means (see `launch()`: QEMU's exit, how it ended, its stderr tail). */
  explainLostConnection?: ExplainLostConnection | undefined;
}

/** Options shared by `FaultInjectionFramework.connect()` and `launch()`. */
export interface FrameworkOptions {
  /** 0: quiet; 1: print each injection with its guest time; 2: also every protocol message. */
  verbose?: VerboseLevel;
  /** Where verbose lines go (default: `console.log`). */
  log?: LogSink;
  /** Bound on one trigger callback (default 30 000 ms): one that never settles fails the run. */
  callbackTimeoutMs?: number;
}

/** How long `connect()` tries each socket by default. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** Options for attaching to a QEMU started by hand. */
export interface ConnectOptions extends FrameworkOptions {
  /** The qtest socket, if QEMU was started with `-qtest` (needed for physical writes and GPIO on stock QEMU). */
  qtest?: string | SocketAddress;
  /** The gdbstub socket, if QEMU was started with `-gdb` (needed for registers, breakpoints and watchpoints). */
  gdb?: string | SocketAddress;
  /** A socket chardev carrying the guest's serial port, to capture its output. */
  serial?: string | SocketAddress;
  /**
   * Our plugin's socket, if QEMU loads it listening (`qemu-fault plugin` prints the arguments):
   * guest time, `notify()`, PC and data triggers and exact registers, as on a launched QEMU.
   */
  plugin?: string | SocketAddress;
  /** The kernel ELF, for symbols. */
  kernel?: string;
  /** How long to try each socket (default {@link DEFAULT_CONNECT_TIMEOUT_MS} ms). */
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

/** What a framework instance starts from besides its channels (see `FaultInjectionFramework.setup`). */
export interface FrameworkSetup {
  options: FrameworkOptions;
  trace: InjectionTrace;
  /** Whether the guest runs now. */
  running: boolean;
  /** This QEMU has the original framework's patched `time-notify` (used when our plugin is absent). */
  patchedTime: boolean;
}
