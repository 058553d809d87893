import { FaultInjectionFramework } from '../framework/framework.js';
import { CONNECT_OPTIONS, CONNECT_OPTIONS_HELP, connectOptions, HELP_OPTION, parseCommand } from './args.js';
import { connectFailureCode, ExitCode, scenarioFailureCode, signalExitCode } from './exit-codes.js';
import { describeError, type Output } from './output.js';
import { loadScenario } from './scenario.js';
import { watchSignals } from './signals.js';

export const RUN_HELP = `Usage: qemu-fault run <scenario> <qmp-address> [options] [-- scenario args...]

Runs a scenario against a QEMU started by hand. <scenario> is a .ts, .mts, .js or .mjs module whose
default export is \`async (inj, { args, address }) => { ... }\`; inj is a FaultInjectionFramework
connected to <qmp-address> (a unix socket path, or host:port). The QEMU keeps running afterwards.

${CONNECT_OPTIONS_HELP}

Exit codes: 0 the scenario finished, 1 it threw, 2 usage error (or an unusable scenario file),
3 cannot connect, 4 QEMU went away during the scenario, 130/143 interrupted by SIGINT/SIGTERM.`;

/** `qemu-fault run`: see {@link RUN_HELP}. */
export async function runCommand(argv: readonly string[], out: Output): Promise<number> {
  const { values, positionals, rest } = parseCommand(
    argv,
    { ...CONNECT_OPTIONS, ...HELP_OPTION },
    { min: 2, max: 2, names: '<scenario> and <qmp-address>' },
  );
  if (values.help) {
    out.print(RUN_HELP);
    return ExitCode.OK;
  }
  const [scenarioPath, address] = positionals as [string, string];
  const options = connectOptions(values);
  // The file first: a typo should not cost a connection.
  const scenario = await loadScenario(scenarioPath);

  const signals = watchSignals();
  let inj: FaultInjectionFramework | undefined;
  try {
    try {
      inj = await FaultInjectionFramework.connect(address, options);
    } catch (err) {
      out.error(`cannot connect to QEMU at ${address}: ${describeError(err)}`);
      return connectFailureCode(err);
    }
    const finished = Promise.resolve()
      .then(() => scenario(inj!, { args: rest, address }))
      .then(() => ExitCode.OK);
    // If a signal wins the race, the scenario fails later, once disconnected: not an unhandled rejection.
    finished.catch(() => undefined);
    const outcome = await Promise.race([finished, signals.received]);
    if (typeof outcome === 'string') {
      out.error(`interrupted by ${outcome}; disconnecting`);
      return signalExitCode(outcome);
    }
    return outcome;
  } catch (err) {
    out.error(`scenario ${scenarioPath} failed: ${describeError(err, { stack: true })}`);
    return scenarioFailureCode(err);
  } finally {
    signals.dispose();
    await inj?.close().catch(() => undefined);
  }
}
