/**
 * `@qemu-fault/core`: fault injection for firmware running in stock QEMU.
 *
 * Layers, bottom up: `transport/` (sockets, framing), protocol clients (`qmp/`, `qtest/`, `gdb/`),
 * `launch/` (a QEMU per owner), and `framework/` (the API tests use).
 */

export * from './campaign/index.js';
export type { Scenario, ScenarioContext } from './cli/scenario.js';
export { type ElfImage, type ElfSymbol, parseElf, readElf } from './elf/elf-file.js';
export * from './errors.js';
export type { CpuRef } from './framework/cpus.js';
export {
  type BytesOptions,
  type ConnectOptions,
  FaultInjectionFramework,
  type FrameworkChannels,
  type FrameworkOptions,
  type RunStatus,
} from './framework/framework.js';
export { formatEntry, InjectionTrace, type LogSink, type TraceEntry, type VerboseLevel } from './framework/injection-trace.js';
export type { RunOptions, RunResult, RunStopReason } from './framework/run-guest.js';
export type { AccessSize, Address, Endianness, ValueOf, WritableValue } from './framework/values.js';
export { GdbClient } from './gdb/gdb-client.js';
export { type LaunchedChannels, type LaunchedQemu, type LaunchOptions, launch } from './launch/launch.js';
export type { ExitInfo, QemuProcess } from './launch/qemu-process.js';
export { type BuiltPlugin, buildPlugin } from './plugin/build-plugin.js';
export { QmpClient } from './qmp/qmp-client.js';
export { QtestClient } from './qtest/qtest-client.js';
export { SerialCapture, type WaitForOptions } from './serial/serial-capture.js';
export { formatAddress, parseAddress, type SocketAddress } from './transport/address.js';
export { TriggerCallbackError, type WatchKind } from './triggers/freeze-server.js';
export type { ArmRegisterName, Registers } from './triggers/registers.js';
export type { AccessInfo, TriggerCallback, TriggerContext, TriggerHandle, TriggerKind } from './triggers/types.js';
