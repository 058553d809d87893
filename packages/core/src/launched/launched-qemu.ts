import type { QemuChannels } from '../channels/open-channels.js';
import type { ElfImage } from '../elf/elf-file.js';
import { FaultInjectionFramework } from '../framework/framework.js';
import type { InjectionTrace } from '../framework/injection-trace.js';
import type { FrameworkOptions, FrameworkSetup } from '../framework/options.js';
import type { ChannelAddresses } from '../launch/qemu-args.js';
import type { QemuProcess } from '../launch/qemu-process.js';
import { explainQemuExit, type QemuExitExplainer } from './explain-exit.js';

/** Where a launched QEMU's channels listen, for attaching other tools. */
export interface LaunchedChannels extends ChannelAddresses {
  /** The private temp dir (mode 0700) holding the sockets; removed by `close()`. */
  dir: string;
}

/** A QEMU started by `launch()`, its channels open, and what goes when it is closed. */
export interface StartedQemu {
  process: QemuProcess;
  channels: QemuChannels;
  addresses: LaunchedChannels;
  commandLine: readonly string[];
  elf: ElfImage | undefined;
  trace: InjectionTrace;
  /** Removed while QEMU shuts down (the private dir, the plugin's listener). */
  alongsideQuit: ReadonlyArray<() => Promise<void>>;
  /** How long `close()` waits for QEMU to quit before killing it. */
  closeGraceMs: number;
}

/**
 * A framework over a QEMU this process started: it also knows the process and its channels'
 * addresses, and `close()` quits QEMU (killing it after a grace period) and removes its dir.
 */
export class LaunchedQemu extends FaultInjectionFramework {
  /** The QEMU process (pid, stderr tail, exit). */
  readonly process: QemuProcess;
  /** The channels' addresses. */
  readonly addresses: LaunchedChannels;
  /** The full command line QEMU was started with. */
  readonly commandLine: readonly string[];

  private constructor(started: StartedQemu, setup: FrameworkSetup, explainer: QemuExitExplainer) {
    super({ ...started.channels, elf: started.elf, process: started.process, explainLostConnection: explainer.explain }, setup);
    this.process = started.process;
    this.addresses = started.addresses;
    this.commandLine = started.commandLine;
    this.onClose(async () => {
      explainer.dispose();
      await Promise.all([this.quit(started), ...started.alongsideQuit.map((remove) => remove())]);
    });
  }

  /** The handle over `started` (see `launch()`, which is how to get one). */
  static async over(started: StartedQemu, options: FrameworkOptions): Promise<LaunchedQemu> {
    const explainer = explainQemuExit(started.process, started.channels.qmp);
    try {
      // Started with -S: paused until someone continues it.
      const setup = await FaultInjectionFramework.setup(started.channels, { ...options, trace: started.trace, running: false });
      return new LaunchedQemu(started, setup, explainer);
    } catch (err) {
      explainer.dispose();
      throw err;
    }
  }

  /** Asks QEMU to quit; if it is already gone or does not answer, the grace period and SIGKILL take over. */
  private async quit({ process, channels, closeGraceMs }: StartedQemu): Promise<void> {
    // A guest frozen by the plugin blocks QEMU's shutdown; closing the plugin's socket ends QEMU at
    // once. Any other QEMU gets the grace period to answer `quit`: a loaded machine answers late,
    // and a QEMU ended through the plugin's socket exits with the plugin's code (3), not 0.
    const { plugin, qmp } = channels;
    if (!process.exitInfo) {
      if (plugin?.frozen) plugin.close();
      else await qmp.execute('quit', undefined, { timeoutMs: closeGraceMs }).catch(() => plugin?.close());
    }
    await process.terminate(closeGraceMs);
    await channels.close();
  }
}
