/**
 * `@qemu-fault/core/protocols`: the protocol clients the framework is built on, for talking to
 * QEMU directly — QMP, qtest, the gdbstub — and the build of our TCG plugin.
 */

export { GdbClient } from './gdb/gdb-client.js';
export { type BuiltPlugin, buildPlugin } from './plugin/build-plugin.js';
export { QmpClient } from './qmp/qmp-client.js';
export { QtestClient } from './qtest/qtest-client.js';
export { formatAddress, parseAddress, type SocketAddress } from './transport/address.js';
