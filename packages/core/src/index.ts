/**
 * `@qemu-fault/core`: fault injection for firmware running in stock QEMU.
 *
 * Layers, bottom up: `transport/` (sockets, framing), protocol clients (`qmp/`, `qtest/`, `gdb/`),
 * `launch/` (a QEMU per owner), and `framework/` (the API tests use).
 */
export * from './errors.js';
export { launch, type LaunchOptions, type LaunchedQemu, type LaunchedChannels } from './launch/launch.js';
export {
  FaultInjectionFramework,
  type ConnectOptions,
  type FrameworkOptions,
  type FrameworkChannels,
  type BytesOptions,
  type RunStatus,
} from './framework/framework.js';
export type { AccessSize, Address, ValueOf, WritableValue, Endianness } from './framework/values.js';
export type { CpuRef } from './framework/cpus.js';
export { InjectionTrace, formatEntry, type TraceEntry, type VerboseLevel, type LogSink } from './framework/injection-trace.js';
export { SerialCapture, type WaitForOptions } from './serial/serial-capture.js';
export { readElf, parseElf, type ElfImage, type ElfSymbol } from './elf/elf-file.js';
export { QmpClient } from './qmp/qmp-client.js';
export { QtestClient } from './qtest/qtest-client.js';
export { GdbClient } from './gdb/gdb-client.js';
export { parseAddress, formatAddress, type SocketAddress } from './transport/address.js';
export type { QemuProcess, ExitInfo } from './launch/qemu-process.js';
export { TriggerCallbackError, type WatchKind } from './triggers/freeze-server.js';
export type { TriggerCallback, TriggerContext, TriggerHandle, TriggerKind, AccessInfo } from './triggers/types.js';
export type { Registers, ArmRegisterName } from './triggers/registers.js';
export type { RunOptions, RunResult, RunStopReason } from './framework/run-guest.js';
export { buildPlugin, type BuiltPlugin } from './plugin/build-plugin.js';
export type { Scenario, ScenarioContext } from './cli/scenario.js';
export * from './campaign/index.js';
