import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ElfImage, readElf } from '../elf/elf-file.js';
import { InvalidArgumentError, LaunchError, QemuFaultError } from '../errors.js';
import { FaultInjectionFramework, type FrameworkOptions } from '../framework/framework.js';
import { InjectionTrace } from '../framework/injection-trace.js';
import { GdbClient } from '../gdb/gdb-client.js';
import { type BuiltPlugin, buildPlugin } from '../plugin/build-plugin.js';
import { PluginListener } from '../plugin/listener.js';
import type { PluginChannel } from '../plugin/plugin-channel.js';
import { QmpClient } from '../qmp/qmp-client.js';
import { QtestClient } from '../qtest/qtest-client.js';
import { SerialCapture } from '../serial/serial-capture.js';
import { formatAddress, type SocketAddress } from '../transport/address.js';
import { connectSocket } from '../transport/connect.js';
import { within } from '../wait.js';
import { createPrivateDir } from './private-dir.js';
import { buildQemuArgs, type ChannelAddresses } from './qemu-args.js';
import { defaultQemuBinary } from './qemu-binary.js';
import { QemuProcess, requireQemuBinary } from './qemu-process.js';

/** Options for {@link launch}. */
export interface LaunchOptions extends FrameworkOptions {
  /** QEMU machine, e.g. `mps2-an385`, `lm3s6965evb`. */
  machine: string;
  /** Firmware ELF given to `-kernel`; also the source of symbols and of the default QEMU binary. */
  kernel?: string;
  /** `-cpu` model. */
  cpu?: string;
  /** QEMU binary (name on PATH or path). Default: from the kernel's architecture, else `qemu-system-arm`. */
  qemu?: string;
  /** Extra QEMU arguments, appended as they are (an array: no shell is involved). */
  args?: readonly string[];
  /** `-m` memory size. */
  memory?: string;
  /** Enable semihosting so the guest can print and exit with a code (default true). */
  semihosting?: boolean;
  /** What a guest reset does: reboot the board (default) or end QEMU (`-no-reboot`). */
  onReset?: 'reboot' | 'exit';
  /** Side channels to open (all default to true). */
  channels?: { qtest?: boolean; gdb?: boolean; serial?: boolean };
  /** Listen on loopback TCP ports instead of unix sockets in the private temp dir. */
  tcp?: boolean;
  /** How long QEMU may take to become ready (default 10 000 ms). */
  readyTimeoutMs?: number;
  /** How long `close()` waits for QEMU to quit before killing it (default 2000 ms). */
  closeGraceMs?: number;
  /**
   * Deterministic guest time: run under `-icount shift=N,sleep=off` (one instruction = 2^N ns)
   * with our TCG plugin, which serves `now()`, `notify()`, `at()`, data triggers and registers.
   * `false` runs plain TCG without them. Default `{ shift: 0 }`.
   */
  time?: { shift?: number } | false;
}

/** Where a launched QEMU's channels listen, for attaching other tools. */
export interface LaunchedChannels extends ChannelAddresses {
  /** The private temp dir (mode 0700) holding the sockets; removed by `close()`. */
  dir: string;
}

/** A framework over a QEMU this process started: it also knows the process and its channel addresses. */
export interface LaunchedQemu extends FaultInjectionFramework {
  /** The QEMU process (pid, stderr tail, exit). */
  readonly process: QemuProcess;
  /** The channels' addresses. */
  readonly addresses: LaunchedChannels;
  /** The full command line QEMU was started with. */
  readonly commandLine: readonly string[];
}

/**
 * Starts QEMU paused (`-S`) with QMP, qtest, gdbstub and the serial port on sockets in a private
 * temp dir, waits until every channel answers, and returns the framework handle. `close()` quits
 * QEMU (killing it after a grace period) and removes the dir.
 */
export async function launch(options: LaunchOptions): Promise<LaunchedQemu> {
  if (!options || typeof options.machine !== 'string' || !options.machine) {
    throw new InvalidArgumentError('launch() needs a `machine`, e.g. { machine: "mps2-an385", kernel: "firmware.elf" }');
  }
  const shift = options.time === false ? undefined : (options.time?.shift ?? 0);
  if (shift !== undefined && !(Number.isInteger(shift) && shift >= 0 && shift <= 10)) {
    throw new InvalidArgumentError(`time.shift must be an integer from 0 to 10, got ${String(shift)}`);
  }
  // Together, to start sooner; a kernel that fails to load then removes the dir again.
  const [elfRead, tmpMade] = await Promise.allSettled([options.kernel ? readElf(options.kernel) : undefined, createPrivateDir()]);
  if (tmpMade.status === 'rejected') throw tmpMade.reason;
  const tmp = tmpMade.value;
  let qemu: QemuProcess | undefined;
  let listener: PluginListener | undefined;
  try {
    if (elfRead.status === 'rejected') throw elfRead.reason;
    const elf = elfRead.value;
    const binary = requireQemuBinary(options.qemu ?? defaultQemuBinary(elf));
    const [addresses, plugin] = await Promise.all([
      channelAddresses(tmp.path, { qtest: true, gdb: true, serial: true, ...options.channels }, options.tcp ?? false),
      shift === undefined ? undefined : pluginFor(binary),
    ]);
    const extraArgs: string[] = [];
    if (plugin) {
      listener = await PluginListener.create(join(tmp.path, 'plugin.sock'));
      // on-disconnect=exit: if this process dies, even by SIGKILL, its socket closes and QEMU exits.
      extraArgs.push('-icount', `shift=${shift},sleep=off`, '-plugin', listener.qemuArg(plugin.path, { 'on-disconnect': 'exit' }));
    }
    const commandLine = buildQemuArgs(
      {
        machine: options.machine,
        kernel: options.kernel,
        cpu: options.cpu,
        memory: options.memory,
        semihosting: options.semihosting ?? true,
        onReset: options.onReset ?? 'reboot',
        args: [...extraArgs, ...(options.args ?? [])],
      },
      addresses,
    );
    // With the plugin (on-disconnect=exit) QEMU already dies with this process; setpriv only costs time then.
    qemu = QemuProcess.start(binary, commandLine, { tiedToOwner: !plugin });
    const framework = await connectAll(qemu, addresses, elf, listener, options, () => tmp.remove());
    return Object.assign(framework, { process: qemu, addresses: { ...addresses, dir: tmp.path }, commandLine }) as LaunchedQemu;
  } catch (err) {
    await qemu?.kill();
    await listener?.close();
    await tmp.remove();
    throw err;
  }
}

const builtPlugins = new Map<string, Promise<BuiltPlugin>>();

/** Our plugin built for `binary`'s plugin API, once per process (and cached on disk across runs). */
function pluginFor(binary: string): Promise<BuiltPlugin> {
  let built = builtPlugins.get(binary);
  if (!built) {
    built = buildPlugin({ qemuBinary: binary });
    builtPlugins.set(binary, built);
    built.catch(() => builtPlugins.delete(binary));
  }
  return built;
}

/** Connects every channel at once (each retrying until QEMU listens) and builds the framework over them. */
async function connectAll(
  qemu: QemuProcess,
  addresses: ChannelAddresses,
  elf: ElfImage | undefined,
  listener: PluginListener | undefined,
  options: LaunchOptions,
  /** Clean-up that may run while QEMU shuts down (the temp dir's removal). */
  alongsideQuit: () => Promise<void>,
): Promise<FaultInjectionFramework> {
  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
  const trace = new InjectionTrace(options.verbose, options.log);
  const died = qemu.exited.then(() => {
    throw new LaunchError(`QEMU exited before it was ready (${qemu.describeExit()})`, qemu.stderr.text(), qemu.exitInfo?.exitCode);
  });
  died.catch(() => undefined);

  // Retry connecting until QEMU listens, but not past the deadline or QEMU's exit.
  const until = { deadline, gaveUp: () => qemu.exitInfo !== undefined };
  // qtest and gdb keep their clients' default per-command timeouts; only QMP's handshake is bounded by the deadline.
  const connecting = [
    untilListening(addresses.qmp, until, (timeoutMs) => QmpClient.connect(addresses.qmp, { timeoutMs, trace: trace.channel('qmp') })),
    addresses.qtest &&
      untilListening(addresses.qtest, until, () => QtestClient.connect(addresses.qtest!, { trace: trace.channel('qtest') })),
    addresses.gdb && untilListening(addresses.gdb, until, () => GdbClient.connect(addresses.gdb!, { trace: trace.channel('gdb') })),
    addresses.serial && untilListening(addresses.serial, until, (timeoutMs) => connectSocket(addresses.serial!, { timeoutMs })),
    listener?.accept({ timeoutMs: Math.max(1, deadline - Date.now()), abort: qemu.exited }),
  ] as const;
  let qmp: QmpClient, qtest: QtestClient | undefined, gdb: GdbClient | undefined, serialSocket: Socket | undefined;
  let plugin: PluginChannel | undefined;
  try {
    [qmp, qtest, gdb, serialSocket, plugin] = await Promise.race([Promise.all(connecting), died]);
    if (plugin) plugin.qemuVersion = `${qmp.version.major}.${qmp.version.minor}.${qmp.version.micro}`;
  } catch (err) {
    // Close whatever did connect before the failure.
    for (const settled of await Promise.allSettled(connecting)) {
      if (settled.status === 'fulfilled' && settled.value) void closeChannel(settled.value);
    }
    throw err;
  }

  let serial: SerialCapture | undefined;
  if (serialSocket) {
    serial = new SerialCapture();
    // The port closes as QEMU exits, a moment before the exit is reaped: say how it ended once known.
    serial.attach(serialSocket, async () => {
      await within(qemu.exited, 1000);
      return `QEMU's serial port closed (${qemu.describeExit()})`;
    });
  }
  // Started with -S: paused until someone continues it.
  const framework = await FaultInjectionFramework.create(
    { qmp, qtest, gdb, serial, elf, plugin, exited: qemu.exited, process: qemu },
    { ...options, trace, running: false },
  );
  const graceMs = options.closeGraceMs ?? 2000;
  framework.onClose(async () => {
    const quit = async () => {
      // Ask QEMU to quit; if it is already gone or does not answer, the grace period and SIGKILL take over.
      // A guest frozen by the plugin blocks QEMU's shutdown; closing the plugin's socket ends QEMU at once.
      if (!qemu.exitInfo) await qmp.execute('quit', undefined, { timeoutMs: plugin ? 200 : graceMs }).catch(() => plugin?.close());
      await qemu.terminate(graceMs);
      plugin?.close();
      await Promise.all([serialSocket, qtest, gdb, qmp].map((channel) => channel && closeChannel(channel)));
    };
    // QEMU takes a few milliseconds to shut down: meanwhile, remove what no longer needs it.
    await Promise.all([quit(), listener?.close(), alongsideQuit()]);
  });
  return framework;
}

function closeChannel(channel: { close(): Promise<void> | void } | Socket): Promise<void> | void {
  return 'destroy' in channel ? void channel.destroy() : channel.close();
}

/**
 * Retries `connect` while nothing listens at `address` yet (QEMU creates its sockets while it
 * starts), until the deadline or until QEMU is gone. Other errors are final.
 */
export async function untilListening<T>(
  address: SocketAddress,
  limits: { deadline: number; gaveUp(): boolean },
  connect: (timeoutMs: number) => Promise<T>,
): Promise<T> {
  for (;;) {
    try {
      return await connect(Math.max(1, limits.deadline - Date.now()));
    } catch (err) {
      const notYet = err instanceof QemuFaultError && err.code === 'CONNECTION_FAILED';
      if (!notYet || limits.gaveUp()) throw err;
      if (Date.now() >= limits.deadline) {
        throw new LaunchError(`QEMU did not listen on ${formatAddress(address)} in time: ${(err as Error).message}`, '');
      }
      await sleep(1);
    }
  }
}

/** Where each wanted channel will listen: a socket in `dir`, or a free loopback TCP port with `tcp`. */
export async function channelAddresses(
  dir: string,
  want: { qtest: boolean; gdb: boolean; serial: boolean },
  tcp: boolean,
): Promise<ChannelAddresses> {
  const at = async (name: string, on = true): Promise<SocketAddress | undefined> => {
    if (!on) return undefined;
    return tcp ? { kind: 'tcp', host: '127.0.0.1', port: await freeLoopbackPort() } : { kind: 'unix', path: join(dir, `${name}.sock`) };
  };
  return {
    qmp: (await at('qmp'))!,
    qtest: await at('qtest', want.qtest),
    gdb: await at('gdb', want.gdb),
    serial: await at('serial', want.serial),
  };
}

/** A loopback port that was free a moment ago (QEMU binds it right after). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
