import type { Socket } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionClosedError, ConnectionError, InvalidArgumentError } from '../errors.js';
import { GdbClient } from '../gdb/gdb-client.js';
// The human monitor's client moves to the sessions layer; this import follows it there.
import { HmpMonitor } from '../hmp/hmp-monitor.js';
import type { ChannelAddresses } from '../launch/qemu-args.js';
import type { PluginListener } from '../plugin/listener.js';
import { PluginChannel } from '../plugin/plugin-channel.js';
import { QmpClient } from '../qmp/qmp-client.js';
import { QtestClient } from '../qtest/qtest-client.js';
import { SerialCapture } from '../serial/serial-capture.js';
import { formatAddress, type SocketAddress } from '../transport/address.js';
import { connectSocket } from '../transport/connect.js';
import { connectWithin } from './connect-within.js';
import { SocketWatch } from './socket-watch.js';
import type { StartUpLimit } from './start-up-limit.js';

/** A protocol client's `trace` hook. */
export type TraceFn = (direction: 'send' | 'recv', text: string) => void;

/** A QEMU's connections, opened together: QMP always, the others where an address was given. */
export interface QemuChannels {
  qmp: QmpClient;
  qtest: QtestClient | undefined;
  gdb: GdbClient | undefined;
  serial: SerialCapture | undefined;
  plugin: PluginChannel | undefined;
  hmp: HmpMonitor | undefined;
  /** Closes every connection. QEMU itself is not asked to quit: that is its owner's business. */
  close(): Promise<void>;
}

/** How {@link openChannels} connects. */
export interface OpenChannelsOptions {
  limit: StartUpLimit;
  /** Retry while nothing listens yet: a QEMU just started creates its sockets as it starts. */
  retry?: boolean;
  /** Rejects when waiting is pointless (QEMU exited before it was ready); its error is then the one thrown. */
  abort?: Promise<never>;
  /** Our plugin's listener, when QEMU loads the plugin and connects to us: awaited like the sockets. */
  plugin?: PluginListener | undefined;
  /** A hook per channel for verbose logging of every message. */
  trace?: (channel: 'qmp' | 'qtest' | 'gdb') => TraceFn;
  /** Why the serial port closed (for a launched QEMU: its exit, known a moment after the port closes). */
  describeSerialEnd?: () => Promise<string>;
}

/**
 * Opens every channel at `addresses` at once, each within the start-up limit, and attaches the
 * serial capture. If one fails (or `abort` rejects first), the others are closed again.
 * `launch()` and `FaultInjectionFramework.connect()` both open their channels here.
 */
export async function openChannels(addresses: ChannelAddresses, options: OpenChannelsOptions): Promise<QemuChannels> {
  const { limit, trace } = options;
  let aborted = false;
  options.abort?.catch(() => (aborted = true));
  const socketDirs = Object.values(addresses).flatMap((a: SocketAddress | undefined) => (a?.kind === 'unix' ? [dirname(a.path)] : []));
  const watch = options.retry ? new SocketWatch(socketDirs) : undefined;
  // The fallback covers a socket created before the watch began watching (its event was missed).
  const untilListening = watch ? { gaveUp: () => aborted, appeared: () => watch.change(5) } : undefined;
  const open = <T>(what: string, address: SocketAddress, connect: (timeoutMs: number) => Promise<T>): Promise<T> =>
    connectWithin(`${what} at ${formatAddress(address)}`, limit.deadline(), connect, untilListening);

  // A QEMU just started has made no socket yet: a connect now would only fail, so the first waits
  // for the first change in its dir.
  const qmp = (watch ? watch.change(5) : Promise.resolve()).then(() =>
    open("QEMU's QMP socket", addresses.qmp, (timeoutMs) => QmpClient.connect(addresses.qmp, { timeoutMs, trace: trace?.('qmp') })),
  );
  // Connecting gets what is left of the start-up limit; each command later gets the whole limit,
  // the same however long start-up took (not what happened to be left when it connected).
  const limits = (connectTimeoutMs: number) => ({ connectTimeoutMs, timeoutMs: Math.max(limit.timeoutMs, connectTimeoutMs) });
  // QEMU creates every socket before it serves QMP: once QMP answers, the others are there, so that
  // is when to try them. Polling them meanwhile would only cost CPU (a failed connect per socket
  // per wake-up) and find the last one (the gdbstub's, made late) up to a fallback period late.
  const side = <T>(what: string, address: SocketAddress, connect: (timeoutMs: number) => Promise<T>): Promise<T> =>
    qmp.then(() => open(what, address, connect));
  const { qtest, gdb, serial, hmp, plugin: pluginAt } = addresses;
  const connecting = [
    qmp,
    qtest && side('the qtest channel', qtest, (timeoutMs) => QtestClient.connect(qtest, { ...limits(timeoutMs), trace: trace?.('qtest') })),
    gdb && side('the gdbstub', gdb, (timeoutMs) => GdbClient.connect(gdb, { ...limits(timeoutMs), trace: trace?.('gdb') })),
    serial && side('the serial port', serial, (timeoutMs) => connectSocket(serial, { timeoutMs })),
    options.plugin
      ? acceptPlugin(options.plugin, limit, options.abort)
      : pluginAt && side('the qemu-fault plugin', pluginAt, (timeoutMs) => PluginChannel.connect(pluginAt, limits(timeoutMs))),
    hmp && side('the human monitor', hmp, (timeoutMs) => HmpMonitor.connect(unixPath(hmp), { timeoutMs })),
  ] as const;
  let opened: [
    QmpClient,
    QtestClient | undefined,
    GdbClient | undefined,
    Socket | undefined,
    PluginChannel | undefined,
    HmpMonitor | undefined,
  ];
  try {
    opened = await Promise.race([Promise.all(connecting), ...(options.abort ? [options.abort] : [])]);
    watch?.close();
  } catch (err) {
    watch?.close();
    for (const settled of await Promise.allSettled(connecting)) {
      if (settled.status === 'fulfilled' && settled.value) void closeOne(settled.value);
    }
    throw await whyItFailed(err, options.abort);
  }
  const [qmpClient, qtestClient, gdbClient, serialSocket, plugin, monitor] = opened;
  if (plugin) plugin.qemuVersion = `${qmpClient.version.major}.${qmpClient.version.minor}.${qmpClient.version.micro}`;
  let capture: SerialCapture | undefined;
  if (serialSocket) {
    capture = new SerialCapture();
    capture.attach(serialSocket, options.describeSerialEnd);
  }
  return {
    qmp: qmpClient,
    qtest: qtestClient,
    gdb: gdbClient,
    serial: capture,
    plugin,
    hmp: monitor,
    close: async () => {
      plugin?.close();
      monitor?.close();
      await Promise.all([serialSocket, qtestClient, gdbClient, qmpClient].map((channel) => channel && closeOne(channel)));
    },
  };
}

/** How long a channel that broke during start-up waits for QEMU's exit to say why. */
const EXIT_WAIT_MS = 2000;

/**
 * A channel that broke while QEMU starts (a socket QEMU closed: it refused a plugin, its
 * arguments, its machine) is QEMU exiting: its own words on stderr say why, so the error is
 * `abort`'s (the exit, with stderr) if QEMU exits soon after; otherwise it is `err`.
 */
async function whyItFailed(err: unknown, abort: Promise<never> | undefined): Promise<unknown> {
  if (!abort || !(err instanceof ConnectionClosedError || err instanceof ConnectionError)) return err;
  const exited = await Promise.race([
    abort.then(
      () => undefined,
      (exit: unknown) => exit,
    ),
    sleep(EXIT_WAIT_MS).then(() => undefined),
  ]);
  return exited ?? err;
}

/** Waits for our plugin to connect from QEMU, within the limit. */
function acceptPlugin(listener: PluginListener, limit: StartUpLimit, abort: Promise<never> | undefined): Promise<PluginChannel> {
  const deadline = limit.deadline();
  return connectWithin("QEMU's qemu-fault plugin", deadline, (timeoutMs) =>
    listener.accept({ timeoutMs, commandTimeoutMs: limit.timeoutMs, abort }),
  );
}

function unixPath(address: SocketAddress): string {
  if (address.kind !== 'unix') throw new InvalidArgumentError(`the human monitor listens on a unix socket, not ${formatAddress(address)}`);
  return address.path;
}

function closeOne(channel: { close(): Promise<void> | void } | Socket): Promise<void> | void {
  return 'destroy' in channel ? void channel.destroy() : channel.close();
}
