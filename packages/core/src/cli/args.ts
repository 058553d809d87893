import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { ConnectOptions } from '../framework/framework.js';
import type { VerboseLevel } from '../framework/injection-trace.js';
import { UsageError } from './exit-codes.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What {@link parseCommand} returns: option values, positionals, and what followed `--`. */
export interface ParsedCommand<V> {
  values: V;
  positionals: string[];
  /** Arguments after a literal `--`, passed through untouched. */
  rest: string[];
}

/**
 * `node:util`'s strict parser, with its errors turned into {@link UsageError}s and the positional
 * count checked. Everything after `--` is kept apart for the command to pass on.
 */
export function parseCommand<O extends Options>(
  argv: readonly string[],
  options: O,
  positionals: { min: number; max: number; names: string },
): ParsedCommand<ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values']> {
  const dashDash = argv.indexOf('--');
  const own = dashDash < 0 ? [...argv] : argv.slice(0, dashDash);
  const rest = dashDash < 0 ? [] : argv.slice(dashDash + 1);
  let parsed;
  try {
    parsed = parseArgs({ args: own, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const help = (parsed.values as Record<string, unknown>)['help'] === true;
  const count = parsed.positionals.length;
  if (!help && (count < positionals.min || count > positionals.max)) {
    throw new UsageError(
      count < positionals.min ? `missing ${positionals.names}` : `unexpected argument '${parsed.positionals[positionals.max]}'`,
    );
  }
  return { values: parsed.values, positionals: parsed.positionals, rest };
}

/** `--help` / `-h`, shared by every command. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** The side-channel options of `run` and `repl`, as `FaultInjectionFramework.connect` takes them. */
export const CONNECT_OPTIONS = {
  qtest: { type: 'string' },
  gdb: { type: 'string' },
  serial: { type: 'string' },
  kernel: { type: 'string' },
  verbose: { type: 'string', short: 'v' },
  timeout: { type: 'string' },
} as const;

export const CONNECT_OPTIONS_HELP = `Side channels (optional; what needs one says so when it is missing):
  --qtest PATH     QEMU's -qtest socket: physical writes, GPIO, writes while running
  --gdb PATH       QEMU's -gdb socket: a CPU's view while paused, registers
  --serial PATH    a socket chardev carrying the guest's UART, captured as inj.serial
  --kernel ELF     the firmware ELF, for inj.symbol(name)
  --verbose N      0 quiet (default), 1 print each injection, 2 also every protocol message
  --timeout MS     how long to try each socket (default 5000)`;

/** Turns the parsed side-channel options into {@link ConnectOptions}. */
export function connectOptions(values: { [K in keyof typeof CONNECT_OPTIONS]?: string | undefined }): ConnectOptions {
  const options: ConnectOptions = {};
  if (values.qtest !== undefined) options.qtest = values.qtest;
  if (values.gdb !== undefined) options.gdb = values.gdb;
  if (values.serial !== undefined) options.serial = values.serial;
  if (values.kernel !== undefined) options.kernel = values.kernel;
  if (values.verbose !== undefined) options.verbose = verboseLevel(values.verbose);
  if (values.timeout !== undefined) options.timeoutMs = positiveInteger(values.timeout, '--timeout');
  return options;
}

function verboseLevel(text: string): VerboseLevel {
  if (text !== '0' && text !== '1' && text !== '2') throw new UsageError(`--verbose must be 0, 1 or 2, got '${text}'`);
  return Number(text) as VerboseLevel;
}

/** Parses a decimal integer option ≥ `min`. */
export function positiveInteger(text: string, option: string, min = 1): number {
  const value = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min)) throw new UsageError(`${option} must be an integer of at least ${min}, got '${text}'`);
  return value;
}
