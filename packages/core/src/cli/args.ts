import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { VerboseLevel } from '../framework/injection-trace.js';
import { type ConnectOptions, DEFAULT_CONNECT_TIMEOUT_MS } from '../framework/options.js';
import { UsageError } from './exit-codes.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>;

/**
 * One option of a command: how `node:util` parses it and its line in `--help`, so the help text
 * and the defaults come from one place.
 */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** What the parser fills in when the option is absent; shown in the help for string options. */
  default?: string | boolean;
  /** The value's placeholder in the help, e.g. `N`. */
  value?: string;
  help: string;
  /** The default as the help says it, where it is not a value the parser fills in (computed later). */
  defaultHelp?: string;
}

/** The `--help` lines of `specs`, aligned: `  --workers N      parallel QEMU workers (default: ...)`. */
export function optionsHelp(specs: Readonly<Record<string, OptionSpec>>): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.value ? ` ${spec.value}` : ''}`;
    const shown = spec.defaultHelp ?? (spec.type === 'string' && spec.default !== undefined ? String(spec.default) : undefined);
    return [flag, shown === undefined ? spec.help : `${spec.help} (default: ${shown})`] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`).join('\n');
}

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
): ParsedCommand<Parsed<O>['values']> {
  const dashDash = argv.indexOf('--');
  const own = dashDash < 0 ? [...argv] : argv.slice(0, dashDash);
  const rest = dashDash < 0 ? [] : argv.slice(dashDash + 1);
  let parsed: Parsed<O>;
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
export const HELP_OPTION = { help: { type: 'boolean', short: 'h', help: 'this text' } } as const satisfies Record<string, OptionSpec>;

/** The side-channel options of `run` and `repl`, as `FaultInjectionFramework.connect` takes them. */
export const CONNECT_OPTIONS = {
  qtest: { type: 'string', value: 'PATH', help: "QEMU's -qtest socket: physical writes, GPIO, writes while running" },
  gdb: { type: 'string', value: 'PATH', help: "QEMU's -gdb socket: a CPU's view while paused, registers" },
  serial: { type: 'string', value: 'PATH', help: "a socket chardev carrying the guest's UART, captured as inj.serial" },
  plugin: { type: 'string', value: 'PATH', help: "our plugin's socket (qemu-fault plugin): guest time, notify(), triggers" },
  kernel: { type: 'string', value: 'ELF', help: 'the firmware ELF, for inj.symbol(name)' },
  verbose: {
    type: 'string',
    short: 'v',
    value: 'N',
    help: '0 quiet, 1 print each injection, 2 also every protocol message',
    defaultHelp: '0',
  },
  timeout: { type: 'string', value: 'MS', help: 'how long to try each socket', defaultHelp: String(DEFAULT_CONNECT_TIMEOUT_MS) },
} as const satisfies Record<string, OptionSpec>;

/** The options help of `run` and `repl`. */
export const CONNECT_OPTIONS_HELP = `Side channels (optional; what needs one says so when it is missing):
${optionsHelp({ ...CONNECT_OPTIONS, ...HELP_OPTION })}`;

/** Turns the parsed side-channel options into {@link ConnectOptions}. */
export function connectOptions(values: { [K in keyof typeof CONNECT_OPTIONS]?: string | undefined }): ConnectOptions {
  const options: ConnectOptions = {};
  if (values.qtest !== undefined) options.qtest = values.qtest;
  if (values.gdb !== undefined) options.gdb = values.gdb;
  if (values.serial !== undefined) options.serial = values.serial;
  if (values.plugin !== undefined) options.plugin = values.plugin;
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
