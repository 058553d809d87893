#!/usr/bin/env node
/**
 * `qemu-fault`: the command line of @qemu-fault/core. One module per command; each is loaded
 * only when used (the REPL, tsx and the campaign runner each cost start-up time).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ExitCode, UsageError } from './exit-codes.js';
import { describeError, type Output, processOutput } from './output.js';

interface Command {
  synopsis: string;
  summary: string;
  run(argv: readonly string[], out: Output): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  run: {
    synopsis: 'run <scenario> <qmp-address>',
    summary: 'run a scenario module against a QEMU started by hand',
    run: async (argv, out) => (await import('./run.js')).runCommand(argv, out),
  },
  repl: {
    synopsis: 'repl <qmp-address>',
    summary: 'a Node REPL with the framework connected and bound as `inj`',
    run: async (argv, out) => (await import('./repl.js')).replCommand(argv, out),
  },
  launch: {
    synopsis: 'launch <kernel> [--machine M]',
    summary: 'start QEMU paused with every channel and print where to attach',
    run: async (argv, out) => (await import('./launch.js')).launchCommand(argv, out),
  },
  plugin: {
    synopsis: 'plugin [--qemu BINARY]',
    summary: 'build our plugin for a QEMU and print the arguments to start it by hand with',
    run: async (argv, out) => (await import('./plugin.js')).pluginCommand(argv, out),
  },
  campaign: {
    synopsis: 'campaign <config>',
    summary: 'run a fault campaign and write its reports',
    run: async (argv, out) => (await import('./campaign.js')).campaignCommand(argv, out),
  },
};

export const MAIN_HELP = `Usage: qemu-fault <command> [options]

Commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.synopsis.padEnd(32)} ${c.summary}`)
  .join('\n')}

'qemu-fault <command> --help' shows a command's options.

Exit codes: 0 ok, 1 the scenario failed, 2 usage error, 3 cannot connect to or start QEMU,
4 QEMU went away mid-run, 130/143 interrupted by SIGINT/SIGTERM.`;

/** Runs one command line (without `node` and the script) and resolves with its exit code. */
export async function main(argv: readonly string[], out: Output = processOutput): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? out.error : out.print)(MAIN_HELP);
    return name === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    out.error(`qemu-fault: unknown command '${name}'. Commands: ${Object.keys(COMMANDS).join(', ')}; see qemu-fault --help.`);
    return ExitCode.USAGE;
  }
  try {
    return await command.run(rest, out);
  } catch (err) {
    if (err instanceof UsageError) {
      out.error(`qemu-fault ${name}: ${err.message}\nRun 'qemu-fault ${name} --help' for usage.`);
      return ExitCode.USAGE;
    }
    out.error(`qemu-fault ${name}: ${describeError(err, { stack: true })}`);
    return ExitCode.FAILED;
  }
}

/** True when this file is the program (not imported by a test); bin shims reach it through a symlink. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // exit() rather than exitCode: a scenario's stray timer must not keep a finished run alive.
  // (stdout and stderr are synchronous for files, pipes and terminals on Linux, so nothing is lost.)
  process.exit(await main(process.argv.slice(2)));
}
