/**
 * `@qemu-fault/core`: fault injection for firmware running in stock QEMU — the framework.
 * Fault campaigns are at `@qemu-fault/core/campaign`, the raw protocol clients at
 * `@qemu-fault/core/protocols`.
 *
 * Layers, bottom up: `transport/` (sockets, framing), the protocol clients (`qmp/`, `qtest/`,
 * `gdb/`, `plugin/`), `launch/` (the QEMU process: arguments, private dir, reaper), `channels/`
 * (a QEMU's channels, opened together within one start-up limit), `triggers/`, `framework/` (the
 * API tests use), `launched/` (`launch()`: process, channels and framework composed), then
 * `campaign/` and `cli/`.
 */

export {
  AARCH64,
  ARCHITECTURES,
  ARM_AR,
  ARM_M,
  type Architecture,
  type ArchitectureId,
  type RegisterSpec,
  type RegisterValue,
  RISCV32,
  RISCV64,
} from './arch/index.js';
export type { Scenario, ScenarioContext } from './cli/scenario.js';
export { type ElfImage, type ElfSymbol, parseElf, readElf } from './elf/elf-file.js';
export * from './errors.js';
export type { CpuRef } from './framework/cpus.js';
export { FaultInjectionFramework } from './framework/framework.js';
export { formatEntry, InjectionTrace, type LogSink, type TraceEntry, type VerboseLevel } from './framework/injection-trace.js';
export {
  type BytesOptions,
  type ConnectOptions,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type ExplainLostConnection,
  type FrameworkChannels,
  type FrameworkOptions,
  type FrameworkSetup,
  type HumanMonitor,
  type RunStatus,
} from './framework/options.js';
export type { RunOptions, RunResult, RunStopReason } from './framework/run-guest.js';
export type { ExecutionRange } from './framework/trigger-calls.js';
export type { AccessSize, Address, Endianness, ValueOf, WritableValue } from './framework/values.js';
export type { ExitInfo, QemuProcess } from './launch/qemu-process.js';
export { DEFAULT_CLOSE_GRACE_MS, DEFAULT_READY_TIMEOUT_MS, type LaunchOptions, launch } from './launched/launch.js';
export { type LaunchedChannels, LaunchedQemu } from './launched/launched-qemu.js';
export { SerialCapture, type WaitForOptions } from './serial/serial-capture.js';
export { formatAddress, parseAddress, type SocketAddress } from './transport/address.js';
export { type HoldReason, TriggerCallbackError, type WatchKind } from './triggers/freeze-server.js';
export type { ArmRegisterName, Register32Name, RegisterName, RegisterOptions, Registers } from './triggers/registers.js';
export type {
  AccessInfo,
  ExecutedInstruction,
  ExecutionRecording,
  TriggerCallback,
  TriggerContext,
  TriggerHandle,
  TriggerKind,
} from './triggers/types.js';
