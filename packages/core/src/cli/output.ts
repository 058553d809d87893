import { inspect } from 'node:util';
import { QemuFaultError } from '../errors.js';

/** Where a command writes: stdout for results, stderr for diagnostics (tests pass their own). */
export interface Output {
  print(text: string): void;
  error(text: string): void;
}

/** The process's own stdout and stderr. */
export const processOutput: Output = {
  print: (text) => process.stdout.write(`${text}\n`),
  error: (text) => process.stderr.write(`${text}\n`),
};

/**
 * One error for a human: our typed errors by their message (which already says what happened and
 * what to do), anything else with its stack when asked, since it is probably a bug in a scenario.
 */
export function describeError(err: unknown, options: { stack?: boolean } = {}): string {
  if (err instanceof QemuFaultError) return `${err.name}: ${err.message}`;
  if (err instanceof Error) return options.stack && err.stack ? err.stack : `${err.name}: ${err.message}`;
  return inspect(err);
}
