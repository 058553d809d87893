import { type REPLServer, start } from 'node:repl';
import { FaultInjectionFramework } from '../framework/framework.js';
import { CONNECT_OPTIONS, CONNECT_OPTIONS_HELP, connectOptions, HELP_OPTION, parseCommand } from './args.js';
import { connectFailureCode, ExitCode } from './exit-codes.js';
import { describeError, type Output } from './output.js';

export const REPL_HELP = `Usage: qemu-fault repl <qmp-address> [options]

Opens a Node REPL with a FaultInjectionFramework connected to <qmp-address> bound as \`inj\`
(top-level await works): inj.help(), await inj.read(0x20000000, 4), await inj.setGpio(...).
.exit or Ctrl-D leaves (the QEMU keeps running).

${CONNECT_OPTIONS_HELP}

Exit codes: 0 left normally, 2 usage error, 3 cannot connect, 4 QEMU went away.`;

/** What the REPL needs besides the connection; tests pass a piped stdin and a captured stdout. */
export interface ReplStreams {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Use terminal features (colours, line editing); default: whether `output` is a TTY. */
  terminal?: boolean;
}

/** `qemu-fault repl`: see {@link REPL_HELP}. */
export async function replCommand(
  argv: readonly string[],
  out: Output,
  streams: ReplStreams = { input: process.stdin, output: process.stdout },
): Promise<number> {
  const { values, positionals } = parseCommand(argv, { ...CONNECT_OPTIONS, ...HELP_OPTION }, { min: 1, max: 1, names: '<qmp-address>' });
  if (values.help) {
    out.print(REPL_HELP);
    return ExitCode.OK;
  }
  const address = positionals[0]!;
  let inj: FaultInjectionFramework;
  try {
    inj = await FaultInjectionFramework.connect(address, connectOptions(values));
  } catch (err) {
    out.error(`cannot connect to QEMU at ${address}: ${describeError(err)}`);
    return connectFailureCode(err);
  }
  // The original printed the version it was talking to on connect.
  const { package: build } = inj.qmp.version;
  out.print(`Connected to QEMU ${inj.version}${build ? ` (${build})` : ''} at ${address}.`);
  out.print('The framework is `inj`: inj.help() lists its commands; top-level await works.');

  const repl = start({
    prompt: 'qemu-fault> ',
    input: streams.input,
    output: streams.output,
    terminal: streams.terminal ?? (streams.output as { isTTY?: boolean }).isTTY === true,
    useGlobal: false,
  });
  bindFramework(repl, inj);
  const ended = await new Promise<'exit' | 'lost'>((resolve) => {
    repl.on('exit', () => resolve('exit'));
    void inj.qmp.closed.then((info) => {
      if (info.by === 'local') return;
      out.error(`\nQEMU went away: ${info.reason}`);
      resolve('lost');
      repl.close();
    });
  });
  await inj.close().catch(() => undefined);
  return ended === 'exit' ? ExitCode.OK : ExitCode.QEMU_LOST;
}

/** `inj` in the REPL's context, read-only so a stray `inj = 1` cannot lose the connection. */
function bindFramework(repl: REPLServer, inj: FaultInjectionFramework): void {
  Object.defineProperty(repl.context, 'inj', { value: inj, enumerable: true, configurable: false, writable: false });
}
