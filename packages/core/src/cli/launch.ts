import { basename } from 'node:path';
import { readElf } from '../elf/elf-file.js';
import { LaunchError } from '../errors.js';
import { channelAddresses, untilListening } from '../launch/launch.js';
import { createPrivateDir, type PrivateDir } from '../launch/private-dir.js';
import { buildQemuArgs, type ChannelAddresses } from '../launch/qemu-args.js';
import { defaultQemuBinary } from '../launch/qemu-binary.js';
import { QemuProcess, requireQemuBinary } from '../launch/qemu-process.js';
import { formatAddress } from '../transport/address.js';
import { connectSocket } from '../transport/connect.js';
import { HELP_OPTION, parseCommand, positiveInteger } from './args.js';
import { connectFailureCode, ExitCode } from './exit-codes.js';
import { describeError, type Output } from './output.js';
import { watchSignals } from './signals.js';

export const LAUNCH_HELP = `Usage: qemu-fault launch <kernel> [options] [-- extra QEMU args...]

Starts QEMU paused (-S) on <kernel> with QMP, qtest, the gdbstub and the guest's serial port on
sockets in a private temp dir (mode 0700), waits until they answer, prints where to attach
(\`qemu-fault repl\` / \`run\`, gdb, socat), and stays in the foreground. Ctrl-C or SIGTERM ends
QEMU and removes the dir; so does QEMU ending by itself (e.g. the guest's semihosting exit).

Options:
  --machine M         QEMU machine (default mps2-an385)
  --cpu MODEL         -cpu
  --memory SIZE       -m
  --qemu BINARY       QEMU binary (default: from the kernel's architecture)
  --icount N|off      -icount shift=N,sleep=off, deterministic guest time (default 0)
  --on-reset R        reboot (default) or exit: what a guest reset does
  --tcp               listen on loopback TCP ports instead of unix sockets
  --json              print the addresses as one JSON line instead of the text
  --ready-timeout MS  how long QEMU may take to listen (default 10000)
  -h, --help          this text

Exit codes: 0 ended by Ctrl-C/SIGTERM or QEMU exited with 0, 1 QEMU ended otherwise,
2 usage error (or an unusable kernel), 3 QEMU could not be started.`;

const OPTIONS = {
  machine: { type: 'string', default: 'mps2-an385' },
  cpu: { type: 'string' },
  memory: { type: 'string' },
  qemu: { type: 'string' },
  icount: { type: 'string', default: '0' },
  'on-reset': { type: 'string', default: 'reboot' },
  tcp: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  'ready-timeout': { type: 'string', default: '10000' },
  ...HELP_OPTION,
} as const;

/** How long QEMU gets to shut down after SIGTERM before it is killed. */
const QUIT_GRACE_MS = 3000;

/** `qemu-fault launch`: see {@link LAUNCH_HELP}. */
export async function launchCommand(argv: readonly string[], out: Output): Promise<number> {
  const { values, positionals, rest } = parseCommand(argv, OPTIONS, { min: 1, max: 1, names: '<kernel>' });
  if (values.help) return (out.print(LAUNCH_HELP), ExitCode.OK);
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
    dir = await createPrivateDir();
    const addresses = await channelAddresses(dir.path, { qtest: true, gdb: true, serial: true }, values.tcp);
    const args = buildQemuArgs(
      {
        machine: values.machine,
        kernel,
        cpu: values.cpu,
        memory: values.memory,
        semihosting: true,
        onReset,
        args: [...(icount === undefined ? [] : ['-icount', `shift=${icount},sleep=off`]), ...rest],
      },
      addresses,
    );
    // No plugin here (whoever attaches uses connect(), which has no time triggers): setpriv ties QEMU to us.
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
    await dir?.remove();
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
  const limits = { deadline: Date.now() + timeoutMs, gaveUp: () => qemu.exitInfo !== undefined };
  const probes = Object.values(addresses).map((address) =>
    untilListening(address, limits, (t) => connectSocket(address, { timeoutMs: t })).then((socket) => void socket.destroy()),
  );
  const died = qemu.exited.then(() => {
    throw new LaunchError(`QEMU exited before it was ready (${qemu.describeExit()})`, qemu.stderr.text(), qemu.exitInfo?.exitCode);
  });
  await Promise.race([Promise.all(probes), died]);
}

function printable(addresses: ChannelAddresses): Record<string, string> {
  return Object.fromEntries(Object.entries(addresses).map(([name, address]) => [name, formatAddress(address!)]));
}

/** Quotes a word for a POSIX shell when it needs it, so the printed lines can be pasted as they are. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function describeLaunch(
  summary: { pid: number | undefined; dir: string; machine: string; kernel: string; commandLine: string[] },
  addresses: ChannelAddresses,
): string {
  const at = printable(addresses);
  const sides = ['qtest', 'gdb', 'serial'].map((name) => `--${name} ${shellQuote(at[name]!)}`).join(' ');
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
