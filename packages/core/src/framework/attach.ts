import { openChannels, type QemuChannels } from '../channels/open-channels.js';
import { StartUpLimit } from '../channels/start-up-limit.js';
import { type ElfImage, readElf } from '../elf/elf-file.js';
import { parseAddress, type SocketAddress } from '../transport/address.js';
import { InjectionTrace } from './injection-trace.js';
import { type ConnectOptions, DEFAULT_CONNECT_TIMEOUT_MS } from './options.js';

/** How `connect()`'s limit is named in the error when a socket does not answer in time. */
const CONNECT_LIMIT = {
  option: 'timeoutMs',
  raise: 'FaultInjectionFramework.connect(address, { timeoutMs }) (qemu-fault run/repl: --timeout)',
};

/** What attaching to a QEMU started by hand gives: its channels, the kernel image, a trace for both. */
export interface Attached {
  channels: QemuChannels;
  elf: ElfImage | undefined;
  trace: InjectionTrace;
}

/**
 * Opens the channels `options` names of a QEMU started by hand (each socket within `timeoutMs`,
 * QMP first) and reads the kernel ELF meanwhile; `build` makes the framework over them. If
 * anything fails, what was opened is closed; otherwise the framework's `close()` closes it.
 */
export async function attach<T extends { onClose(cleanup: () => Promise<void>): void }>(
  address: string | SocketAddress,
  options: ConnectOptions,
  build: (attached: Attached) => Promise<T>,
): Promise<T> {
  const trace = new InjectionTrace(options.verbose, options.log);
  const limit = new StartUpLimit(options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, CONNECT_LIMIT, { scope: 'per-connection' });
  const side = (at: string | SocketAddress | undefined) => (at === undefined ? undefined : parseAddress(at));
  const [opening, reading] = await Promise.allSettled([
    openChannels(
      {
        qmp: parseAddress(address),
        qtest: side(options.qtest),
        gdb: side(options.gdb),
        serial: side(options.serial),
        plugin: side(options.plugin),
      },
      { limit, trace: (name) => trace.channel(name) },
    ),
    options.kernel ? readElf(options.kernel) : undefined,
  ]);
  if (opening.status === 'rejected') throw opening.reason;
  const channels = opening.value;
  try {
    if (reading.status === 'rejected') throw reading.reason;
    const built = await build({ channels, elf: reading.value, trace });
    built.onClose(() => channels.close());
    return built;
  } catch (err) {
    await channels.close();
    throw err;
  }
}
