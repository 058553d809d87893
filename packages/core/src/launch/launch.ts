import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dir as tempDir, setGracefulCleanup } from 'tmp-promise';
import { readElf, type ElfImage } from '../elf/elf-file.js';
import { InvalidArgumentError, LaunchError, QemuFaultError } from '../errors.js';
import { FaultInjectionFramework, type FrameworkOptions } from '../framework/framework.js';
import { InjectionTrace } from '../framework/injection-trace.js';
import { GdbClient } from '../gdb/gdb-client.js';
import { QmpClient } from '../qmp/qmp-client.js';
import { QtestClient } from '../qtest/qtest-client.js';
import { SerialCapture } from '../serial/serial-capture.js';
import type { SocketAddress } from '../transport/address.js';
import { connectSocket } from '../transport/connect.js';
import { buildQemuArgs, type ChannelAddresses } from './qemu-args.js';
import { defaultQemuBinary } from './qemu-binary.js';
import { QemuProcess } from './qemu-process.js';

// Temp dirs of a process that exits normally or by a signal Node handles are removed on the way out.
setGracefulCleanup();

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
  const elf = options.kernel ? await readElf(options.kernel) : undefined;
  const want = { qtest: true, gdb: true, serial: true, ...options.channels };
  const tmp = await tempDir({ prefix: 'qemu-fault-', mode: 0o700, unsafeCleanup: true });
  let qemu: QemuProcess | undefined;
  try {
    const addresses = await channelAddresses(tmp.path, want, options.tcp ?? false);
    const commandLine = buildQemuArgs(
      {
        machine: options.machine,
        kernel: options.kernel,
        cpu: options.cpu,
        memory: options.memory,
        semihosting: options.semihosting ?? true,
        onReset: options.onReset ?? 'reboot',
        args: options.args ?? [],
      },
      addresses,
    );
    qemu = QemuProcess.start(options.qemu ?? defaultQemuBinary(elf), commandLine);
    const framework = await connectAll(qemu, addresses, elf, options);
    return Object.assign(framework, { process: qemu, addresses: { ...addresses, dir: tmp.path }, commandLine }) as LaunchedQemu;
  } catch (err) {
    await qemu?.kill();
    await tmp.cleanup();
    throw err;
  }

  async function connectAll(
    process: QemuProcess,
    addresses: ChannelAddresses,
    image: ElfImage | undefined,
    opts: LaunchOptions,
  ): Promise<FaultInjectionFramework> {
    const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
    const deadline = Date.now() + readyTimeoutMs;
    const trace = new InjectionTrace(opts.verbose, opts.log);
    const died = process.exited.then(() => {
      throw new LaunchError(`QEMU exited before it was ready (${process.describeExit()})`, process.stderr.text(), process.exitInfo?.exitCode);
    });
    died.catch(() => undefined);

    const qmp = await Promise.race([waitForQmp(addresses.qmp, deadline, trace), died]);
    // The side channels' sockets exist once QMP answers; their clients keep their own default timeouts.
    const [qtest, gdb, serialSocket] = await Promise.race([
      Promise.all([
        addresses.qtest && QtestClient.connect(addresses.qtest, { trace: trace.channel('qtest') }),
        addresses.gdb && GdbClient.connect(addresses.gdb, { trace: trace.channel('gdb') }),
        addresses.serial && connectSocket(addresses.serial),
      ]),
      died,
    ]);
    let serial: SerialCapture | undefined;
    if (serialSocket) {
      serial = new SerialCapture();
      serial.attach(serialSocket, () => `QEMU's serial port closed (${process.describeExit()})`);
    }
    const framework = await FaultInjectionFramework.create({ qmp, qtest: qtest || undefined, gdb: gdb || undefined, serial, elf: image }, trace);
    const graceMs = opts.closeGraceMs ?? 2000;
    framework.onClose(() => tmp.cleanup());
    framework.onClose(async () => {
      // Ask QEMU to quit; if it is already gone or does not answer, the grace period and SIGKILL take over.
      if (!process.exitInfo) await qmp.execute('quit', undefined, { timeoutMs: graceMs }).catch(() => undefined);
      await process.terminate(graceMs);
      serialSocket?.destroy();
      await Promise.all([qtest?.close(), gdb?.close(), qmp.close()]);
    });
    return framework;
  }
}

/** Polls for QMP's socket until QEMU has created it and sent its greeting, or the deadline passes. */
async function waitForQmp(address: SocketAddress, deadline: number, trace: InjectionTrace): Promise<QmpClient> {
  for (;;) {
    try {
      return await QmpClient.connect(address, { timeoutMs: Math.max(1, deadline - Date.now()), trace: trace.channel('qmp') });
    } catch (err) {
      const retriable = err instanceof QemuFaultError && err.code === 'CONNECTION_FAILED';
      if (!retriable || Date.now() >= deadline) {
        throw retriable ? new LaunchError(`QEMU's QMP socket did not answer in time: ${(err as Error).message}`, '') : err;
      }
      await sleep(1);
    }
  }
}

async function channelAddresses(
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
