import { join } from 'node:path';
import { openChannels } from '../channels/open-channels.js';
import { StartUpLimit } from '../channels/start-up-limit.js';
import { readElf } from '../elf/elf-file.js';
import { InvalidArgumentError } from '../errors.js';
import { InjectionTrace } from '../framework/injection-trace.js';
import type { FrameworkOptions } from '../framework/options.js';
import { channelAddresses } from '../launch/channel-addresses.js';
import { createPrivateDir } from '../launch/private-dir.js';
import { buildQemuArgs } from '../launch/qemu-args.js';
import { defaultQemuBinary } from '../launch/qemu-binary.js';
import { pluginFor } from '../launch/qemu-plugin.js';
import { exitedBeforeReady, QemuProcess, requireQemuBinary } from '../launch/qemu-process.js';
import { PluginListener } from '../plugin/listener.js';
import { within } from '../wait.js';
import { LaunchedQemu } from './launched-qemu.js';

/** How long QEMU may take to become ready, by default. */
export const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** How long `close()` waits for QEMU to quit before killing it, by default. */
export const DEFAULT_CLOSE_GRACE_MS = 2000;

/** How the start-up limit is named when it runs out. */
const READY_LIMIT = {
  option: 'readyTimeoutMs',
  raise: "pass a larger readyTimeoutMs to launch() (qemuFault() and a campaign's `launch` options take it too)",
};

/** Options for {@link launch}. */
export interface LaunchOptions extends FrameworkOptions {
  /** QEMU machine, e.g. `mps2-an385`, `lm3s6965evb`. */
  machine: string;
  /** Firmware ELF given to `-kernel`; also the source of symbols and of the default QEMU binary. */
  kernel?: string;
  /**
   * How `kernel` gets into the machine: `true` (default) `-kernel`; `'loader'` QEMU's generic
   * loader (`-device loader,file=…`: the segments into memory, no CPU started or set up, as the
   * ZynqMP's Cortex-R5s need: `xlnx-zcu102` boots `-kernel` on an A53); `false` not at all (your
   * `args` load it). Symbols come from `kernel` in every case.
   */
  loadKernel?: boolean | 'loader';
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
  /** What a guest reset does: reboot the board (default) or end QEMU (`-no-reboot`; `run()` then ends with the exit). */
  onReset?: 'reboot' | 'exit';
  /**
   * Side channels to open: qtest, gdbstub and serial default to true. `hmp` (default false) adds
   * a human monitor on a unix socket in the private dir, which `cont`, `stop` and `hmp()` then use.
   */
  channels?: { qtest?: boolean; gdb?: boolean; serial?: boolean; hmp?: boolean };
  /** Listen on loopback TCP ports instead of unix sockets in the private temp dir. */
  tcp?: boolean;
  /**
   * How long QEMU may take to become ready, every channel connected (default
   * {@link DEFAULT_READY_TIMEOUT_MS} ms): the one limit of the whole start-up.
   */
  readyTimeoutMs?: number;
  /** How long `close()` waits for QEMU to quit before killing it (default {@link DEFAULT_CLOSE_GRACE_MS} ms). */
  closeGraceMs?: number;
  /**
   * Deterministic guest time: run under `-icount shift=N,sleep=off` (one instruction = 2^N ns)
   * with our TCG plugin, which serves `now()`, `notify()`, `at()`, data triggers and registers.
   * `false` runs plain TCG without them. Default `{ shift: 0 }`.
   */
  time?: { shift?: number } | false;
  /**
   * `ignore`: the plugin behaves as on a QEMU that exports only its plugin API (upstream's default
   * build), to check that a suite runs there; what that QEMU cannot do then throws
   * `UnsupportedError`. Default `use`: QEMU's internal functions where the binary exports them
   * (Debian's and Ubuntu's do).
   */
  internals?: 'use' | 'ignore';
}

/** The value of a settled promise, or its reason thrown. */
function settledValue<T>(settled: PromiseSettledResult<T>): T {
  if (settled.status === 'rejected') throw settled.reason;
  return settled.value;
}

function kernelLoad(option: LaunchOptions['loadKernel']): 'kernel' | 'loader' | 'none' {
  if (option === undefined || option === true) return 'kernel';
  if (option === false) return 'none';
  if (option === 'loader') return 'loader';
  throw new InvalidArgumentError(`loadKernel must be true, false or 'loader', got ${String(option)}`);
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
  if (options.internals !== undefined && options.internals !== 'use' && options.internals !== 'ignore') {
    throw new InvalidArgumentError(`internals must be 'use' or 'ignore', got ${String(options.internals)}`);
  }
  if (shift !== undefined && !(Number.isInteger(shift) && shift >= 0 && shift <= 10)) {
    throw new InvalidArgumentError(`time.shift must be an integer from 0 to 10, got ${String(shift)}`);
  }
  const tmp = createPrivateDir();
  let qemu: QemuProcess | undefined;
  let listener: PluginListener | undefined;
  let opened: Awaited<ReturnType<typeof openChannels>> | undefined;
  try {
    const wanted = { qtest: true, gdb: true, serial: true, hmp: false, ...options.channels };
    // Together: QEMU can start only once all are done.
    const [elfRead, addressesMade, listening] = await Promise.allSettled([
      options.kernel ? readElf(options.kernel) : undefined,
      channelAddresses(tmp.path, wanted, options.tcp ?? false),
      shift === undefined ? undefined : PluginListener.create(join(tmp.path, 'plugin.sock')),
    ]);
    if (listening.status === 'fulfilled') listener = listening.value;
    const elf = settledValue(elfRead);
    const addresses = settledValue(addressesMade);
    settledValue(listening);
    const binary = requireQemuBinary(options.qemu ?? defaultQemuBinary(elf));
    // Built once per binary and process: after the first launch, at hand at once.
    const plugin = shift === undefined ? undefined : await pluginFor(binary);
    const extraArgs: string[] = [];
    if (plugin && listener) {
      // on-disconnect=exit: if this process dies, even by SIGKILL, its socket closes and QEMU exits.
      const pluginArgs = { 'on-disconnect': 'exit', ...(options.internals === 'ignore' ? { internals: 'none' } : {}) };
      extraArgs.push('-icount', `shift=${shift},sleep=off`, '-plugin', listener.qemuArg(plugin.path, pluginArgs));
    }
    const commandLine = buildQemuArgs(
      {
        machine: options.machine,
        kernel: options.kernel,
        loadKernel: kernelLoad(options.loadKernel),
        cpu: options.cpu,
        memory: options.memory,
        semihosting: options.semihosting ?? true,
        onReset: options.onReset ?? 'reboot',
        args: [...extraArgs, ...(options.args ?? [])],
      },
      addresses,
    );
    // With the plugin (on-disconnect=exit) QEMU already dies with this process; setpriv only costs time then.
    const started = QemuProcess.start(binary, commandLine, { tiedToOwner: !plugin });
    qemu = started;
    const trace = new InjectionTrace(options.verbose, options.log);
    opened = await openChannels(addresses, {
      limit: new StartUpLimit(options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS, READY_LIMIT, {
        scope: 'shared',
        stderrTail: () => started.stderr.text(),
      }),
      retry: true,
      abort: exitedBeforeReady(started),
      plugin: listener,
      trace: (name) => trace.channel(name),
      // The port closes as QEMU exits, a moment before the exit is reaped: say how it ended once known.
      describeSerialEnd: async () => {
        await within(started.exited, 1000);
        return `QEMU's serial port closed (${started.describeExit()})`;
      },
    });
    const pluginListener = listener;
    return await LaunchedQemu.over(
      {
        process: started,
        channels: opened,
        addresses: { ...addresses, dir: tmp.path },
        commandLine,
        elf,
        trace,
        // QEMU takes a few milliseconds to shut down: meanwhile, remove what no longer needs it.
        alongsideQuit: [async () => tmp.remove(), ...(pluginListener ? [() => pluginListener.close()] : [])],
        closeGraceMs: options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS,
      },
      options,
    );
  } catch (err) {
    await opened?.close();
    await qemu?.kill();
    await listener?.close();
    tmp.remove();
    throw err;
  }
}
