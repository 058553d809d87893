/** Argument checks of the framework's calls: bad input is refused before anything reaches QEMU. */
import { InvalidArgumentError } from '../errors.js';
import { describeValue } from '../integers.js';
import type { TriggerCallback } from '../triggers/types.js';
import type { VerboseLevel } from './injection-trace.js';

export function checkName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || name === '')
    throw new InvalidArgumentError(`${what} must be a non-empty string, got ${describeValue(name)}`);
}

export function checkCallback(callback: unknown): asserts callback is TriggerCallback {
  if (typeof callback !== 'function') throw new InvalidArgumentError('the callback must be a function');
}

export function checkTimeNs(timeNs: unknown): asserts timeNs is number {
  if (typeof timeNs !== 'number' || !Number.isSafeInteger(timeNs) || timeNs < 0) {
    throw new InvalidArgumentError(`time must be a non-negative integer number of nanoseconds, got ${describeValue(timeNs)}`);
  }
}

export function checkHit(hit: number): void {
  if (!Number.isSafeInteger(hit) || hit < 1) throw new InvalidArgumentError(`hit must be a positive integer, got ${hit}`);
}

export function checkVerbose(level: unknown): asserts level is VerboseLevel {
  if (level !== 0 && level !== 1 && level !== 2) throw new InvalidArgumentError(`verbose must be 0, 1 or 2, got ${describeValue(level)}`);
}

/** One HMP command line: a line break would make the monitor's next answer another command's. */
export function checkCommandLine(line: unknown): asserts line is string {
  checkName(line, 'HMP command line');
  if (/[\r\n]/.test(line)) throw new InvalidArgumentError(`an HMP command line must not contain a line break, got ${describeValue(line)}`);
}

export function checkSymbolName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new InvalidArgumentError(`a symbol name must be a string, got ${describeValue(name)}`);
}
