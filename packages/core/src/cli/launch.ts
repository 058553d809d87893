import { basename, join } from 'node:path';
import { connectWithin } from '../channels/connect-within.js';
import { StartUpLimit } from '../channels/start-up-limit.js';
import { readElf } from '../elf/elf-file.js';
import { channelAddresses } from '../launch/channel-addresses.js';
import { createPrivateDir, type PrivateDir } from '../launch/private-dir.js';
import { buildQemuArgs, type ChannelAddresses } from '../launch/qemu-args.js';
import { defaultQemuBinary } from '../launch/qemu-binary.js';
import { pluginFor } from '../launch/qemu-plugin.js';
import { exitedBeforeReady, QemuProcess, requireQemuBinary } from '../launch/qemu-process.js';
import { DEFAULT_READY_TIMEOUT_MS } from '../launched/launch.js';
import { shellQuote } from '../shell-quote.js';
import { formatAddress, type SocketAddress } from '../transport/address.js';
import { connectSocket } from '../transport/connect.js';
import { HELP_OPTION, type OptionSpec, optionsHelp, parseCommand, positiveInteger } from './args.js';
import { connectFailureCode, ExitCode } from './exit-codes.js';
import { describeError, type Output } from './output.js';
import { handStartedPluginArgs } from './plugin.js';
import { watchSignals } from './signals.js';

const OPTIONS = {
  machine: { type: 'string', default: 'mps2-an385', value: 'M', help: 'QEMU machine' },
  cpu: { type: 'string', value: 'MODEL', help: '-cpu' },
  memory: { type: 'string', value: 'SIZE', help: '-m' },
  qemu: { type: 'string', value: 'BINARY', help: 'QEMU binary', defaultHelp: "from the kernel's architecture" },
  icount: { type: 'string', default: '0', value: 'N|off', help: '-icount shift=N,sleep=off, deterministic guest time' },
  'on-reset': { type: 'string', default: 'reboot', value: 'R', help: 'reboot or exit: what a guest reset does' },
  tcp: { type: 'boolean', default: false, help: 'listen on loopback TCP ports instead of unix sockets' },
  json: { type: 'boolean', default: false, help: 'print the addresses as one JSON line instead of the text' },
  'ready-timeout': { type: 'string', default: String(DEFAULT_READY_TIMEOUT_MS), value: 'MS', help: 'how long QEMU may take to listen' },
  ...HELP_OPTION,
} as const satisfies Record<string, OptionSpec>;

export const LAUNCH_HELP = `Usage: qemu-fault launch <kernel> [options] [-- extra QEMU args...]

Starts QEMU paused (-S) on <kernel> with QMP, qtest, the gdbstub, the guest's serial port and (with
--icount) our plugin on sockets in a private temp dir (mode 0700), waits until they answer, prints where to attach
(\`qemu-fault repl\` / \`run\`, gdb, socat), and stays in the foreground. Ctrl-C or SIGTERM ends
QEMU and removes the dir; so does QEMU ending by itself (e.g. the guest's semihosting exit).

Options:
${optionsHelp(OPTIONS)}

Exit codes: 0 ended by Ctrl-C/SIGTERM or QEMU exited with 0, 1 QEMU ended otherwise,
2 usage error (or an unusable kernel), 3 QEMU could not be started.`;

/** How the start-up limit is named when it runs out. */
const READY_LIMIT = { option: '--ready-timeout', raise: 'qemu-fault launch --ready-timeout MS' };

/** How long QEMU gets to shut down after SIGTERM before it is killed. */
const QUIT_GRACE_MS = 3000;

/** `qemu-fault launch`: see {@link LAUNCH_HELP}. */
export async function launchCommand(argv: readonly string[], out: Output): Promise<number> {
  const { values, positionals, rest } = parseCommand(argv, OPTIONS, { min: 1, max: 1, names: '<kernel>' });
  if (values.help) {
    out.print(LAUNCH_HELP);
    return ExitCode.OK;
  }
  const kernel = positionals[0]!;
  const icount = values.icount === 'off' ? undefined : positiveInteger(values.icount, '--icount', 0);
  if (icount !== undefined && icount > 10) return usage(out, '--icount must be from 0 to 10, or off');
  const onReset = values['on-reset'];
  if (onReset !== 'reboot' && onReset !== 'exit') return usage(out, `--on-reset must be reboot or exit, got '${onReset}'`);
  const readyMs = positiveInteger(values['ready-timeout'], '--ready-timeout');

  let dir: PrivateDir | undefined;
  let qemu: QemuProcess | undefined;
  const signals = watchSignals();
  try {
    const elf = await readElf(kernel);
    const binary = requireQemuBinary(values.qemu ?? defaultQemuBinary(elf));
    const plugin = icount === undefined ? undefined : await pluginFor(binary);
    dir = createPrivateDir();
    const addresses = await channelAddresses(dir.path, { qtest: true, gdb: true, serial: true, hmp: false }, values.tcp);
    // With guest time, our plugin listens too: whoever attaches gets notify() and the triggers.
    if (plugin) addresses.plugin = { kind: 'unix', path: join(dir.path, 'plugin.sock') };
    const timeArgs = plugin && addresses.plugin?.kind === 'unix' ? handStartedPluginArgs(plugin.path, addresses.plugin.path, icount!) : [];
    const args = buildQemuArgs(
      { machine: values.machine, kernel, cpu: values.cpu, memory: values.memory, semihosting: true, onReset, args: [...timeArgs, ...rest] },
      addresses,
    );
    // The plugin lets QEMU run on when a client leaves; setpriv ties QEMU to this process.
    qemu = QemuProcess.start(binary, args);
    const ready = await Promise.race([waitUntilListening(qemu, addresses, readyMs), signals.received]);
    if (typeof ready === 'string') return await stop(qemu, ready, out);

    const summary = {
      pid: qemu.pid,
      dir: dir.path,
      machine: values.machine,
      kernel,
      ...printable(addresses),
      commandLine: [binary, ...args],
    };
    if (values.json) out.print(JSON.stringify(summary));
    else out.print(describeLaunch(summary, addresses));

    const outcome = await Promise.race([qemu.exited, signals.received]);
    if (typeof outcome === 'string') return await stop(qemu, outcome, out);
    out.error(`QEMU ended: ${qemu.describeExit()}`);
    return outcome.exitCode === 0 ? ExitCode.OK : ExitCode.FAILED;
  } catch (err) {
    out.error(`cannot launch QEMU: ${describeError(err)}`);
    return connectFailureCode(err);
  } finally {
    signals.dispose();
    await qemu?.kill();
    dir?.remove();
  }
}

function usage(out: Output, message: string): number {
  out.error(`qemu-fault launch: ${message}\nRun 'qemu-fault launch --help' for the options.`);
  return ExitCode.USAGE;
}

async function stop(qemu: QemuProcess, signal: string, out: Output): Promise<number> {
  out.error(`${signal}: ending QEMU`);
  await qemu.quit(QUIT_GRACE_MS);
  return ExitCode.OK;
}

/** Connects to each channel once and hangs up, so whoever attaches next finds them listening. */
async function waitUntilListening(qemu: QemuProcess, addresses: ChannelAddresses, timeoutMs: number): Promise<void> {
  const limit = new StartUpLimit(timeoutMs, READY_LIMIT, { scope: 'shared', stderrTail: () => qemu.stderr.text() });
  const untilListening = { gaveUp: () => qemu.exitInfo !== undefined };
  const probes = listed(addresses).map(([name, address]) =>
    connectWithin(
      `QEMU's ${name} socket at ${formatAddress(address)}`,
      limit.deadline(),
      (t) => connectSocket(address, { timeoutMs: t }),
      untilListening,
    ).then((socket) => void socket.destroy()),
  );
  await Promise.race([Promise.all(probes), exitedBeforeReady(qemu)]);
}

/** The channels that have an address, by name. */
function listed(addresses: ChannelAddresses): Array<[string, SocketAddress]> {
  return Object.entries(addresses).filter((entry): entry is [string, SocketAddress] => entry[1] !== undefined);
}

function printable(addresses: ChannelAddresses): Record<string, string> {
  return Object.fromEntries(listed(addresses).map(([name, address]) => [name, formatAddress(address)]));
}

function describeLaunch(
  summary: { pid: number | undefined; dir: string; machine: string; kernel: string; commandLine: string[] },
  addresses: ChannelAddresses,
): string {
  const at = printable(addresses);
  const sides = ['qtest', 'gdb', 'serial', 'plugin']
    .filter((name) => at[name] !== undefined)
    .map((name) => `--${name} ${shellQuote(at[name]!)}`)
    .join(' ');
  const connect = `${shellQuote(at['qmp']!)} ${sides} --kernel ${shellQuote(summary.kernel)}`;
  const gdbTarget = addresses.gdb!.kind === 'unix' ? at['gdb']! : `localhost:${addresses.gdb!.kind === 'tcp' ? addresses.gdb!.port : ''}`;
  return [
    `QEMU (pid ${summary.pid}) is paused on ${summary.machine} with ${basename(summary.kernel)}. Sockets in ${summary.dir}:`,
    ...Object.entries(at).map(([name, where]) => `  ${name.padEnd(7)} ${where}`),
    '',
    'Attach with:',
    `  qemu-fault repl ${connect}`,
    `  qemu-fault run <scenario.ts> ${connect}`,
    `  gdb-multiarch -ex ${shellQuote(`target remote ${gdbTarget}`)}`,
    addresses.serial!.kind === 'unix'
      ? `  socat - UNIX-CONNECT:${shellQuote(at['serial']!)}    (the guest's UART)`
      : `  socat - TCP:${at['serial']}    (the guest's UART)`,
    '',
    'Each socket takes one client at a time. Ctrl-C ends QEMU.',
  ].join('\n');
}
