import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pluginFor } from '../launch/qemu-plugin.js';
import { requireQemuBinary } from '../launch/qemu-process.js';
import { pluginArgument } from '../plugin/listener.js';
import { HELP_OPTION, type OptionSpec, optionsHelp, parseCommand, positiveInteger } from './args.js';
import { connectFailureCode, ExitCode } from './exit-codes.js';
import { describeError, type Output } from './output.js';

const OPTIONS = {
  qemu: { type: 'string', default: 'qemu-system-arm', value: 'BINARY', help: 'the QEMU binary the plugin is built for' },
  socket: { type: 'string', value: 'PATH', help: 'where the plugin listens', defaultHelp: '$TMPDIR/qemu-fault-<uid>/plugin.sock' },
  icount: { type: 'string', default: '0', value: 'N', help: 'the -icount shift (guest time: 2^N ns per instruction)' },
  json: { type: 'boolean', default: false, help: 'print { "args": [...], "socket": "..." } instead of the text' },
  ...HELP_OPTION,
} as const satisfies Record<string, OptionSpec>;

export const PLUGIN_HELP = `Usage: qemu-fault plugin [options]

Builds our TCG plugin for a QEMU binary (cached) and prints the arguments to add to a QEMU command
line you write yourself, so that \`qemu-fault run/repl --plugin\` and
FaultInjectionFramework.connect(qmp, { plugin }) get guest time, notify(), PC and data triggers
and exact registers on it, as launch() does. The plugin listens on the socket; attach as often as
you like, one client at a time (each disconnect disarms its triggers).

Options:
${optionsHelp(OPTIONS)}`;

/** The plugin's arguments for a QEMU started by hand: listening, deterministic guest time. */
export function handStartedPluginArgs(pluginPath: string, socket: string, icount: number): string[] {
  return ['-plugin', pluginArgument(pluginPath, { listen: socket }), '-icount', `shift=${icount},sleep=off`];
}

/** `qemu-fault plugin`: see {@link PLUGIN_HELP}. */
export async function pluginCommand(argv: readonly string[], out: Output): Promise<number> {
  const { values } = parseCommand(argv, OPTIONS, { min: 0, max: 0, names: '' });
  if (values.help) {
    out.print(PLUGIN_HELP);
    return ExitCode.OK;
  }
  const icount = positiveInteger(values.icount, '--icount', 0);
  const socket = values.socket ?? join(tmpdir(), `qemu-fault-${process.getuid?.() ?? 'user'}`, 'plugin.sock');
  try {
    const built = await pluginFor(requireQemuBinary(values.qemu));
    await mkdir(dirname(socket), { recursive: true, mode: 0o700 });
    const args = handStartedPluginArgs(built.path, socket, icount);
    if (values.json) out.print(JSON.stringify({ args, socket }));
    else out.print(`${args.join(' ')}\n\nAttach with: qemu-fault repl <qmp-socket> --plugin ${socket}`);
    return ExitCode.OK;
  } catch (err) {
    out.error(`cannot build the plugin: ${describeError(err)}`);
    return connectFailureCode(err);
  }
}
