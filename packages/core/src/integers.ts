import { inspect } from 'node:util';
import { InvalidArgumentError } from './errors.js';

/**
 * Argument checks shared by the protocol clients. QEMU's qtest asserts (and dies) on numbers it
 * cannot parse, and both protocols silently truncate oversized values, so everything is checked
 * before a byte is sent.
 */

const ADDRESS_LIMIT = 1n << 64n;

/** `0x` and lowercase hex digits: how addresses and values are printed everywhere (and how the plugin and qtest read numbers). */
export function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}

/**
 * Any value, printable in an error message. `String(value)` throws on objects without a prototype
 * (and on symbols inside template literals): an error about a bad argument must not itself fail.
 */
export function describeValue(value: unknown): string {
  return typeof value === 'string'
    ? JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)
    : inspect(value, { depth: 0, breakLength: Infinity, maxArrayLength: 4, maxStringLength: 60 });
}

function toBigInt(value: unknown, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new InvalidArgumentError(`${what} must be an integer (number or bigint), got ${describeValue(value)}`);
}

/** A guest address (`length` bytes from it must stay below 2^64), as a bigint. */
export function checkAddress(address: unknown, length = 0): bigint {
  const value = toBigInt(address, 'address');
  if (value < 0n) throw new InvalidArgumentError(`address must not be negative, got ${value}`);
  if (value + BigInt(length) > ADDRESS_LIMIT) {
    throw new InvalidArgumentError(`address 0x${value.toString(16)} + ${length} bytes is beyond the 64-bit address space`);
  }
  return value;
}

/** A non-negative safe integer such as a byte count or an index. */
export function checkCount(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${what} must be a non-negative integer, got ${describeValue(value)}`);
  }
  return value;
}

/** Largest bulk read: the bytes are held in memory, and a length from a typo must fail, not exhaust it. */
export const MAX_TRANSFER_BYTES = 256 * 1024 * 1024;

/** A bulk read's length: a count of at most {@link MAX_TRANSFER_BYTES}. */
export function checkTransferLength(value: unknown, what = 'length'): number {
  const length = checkCount(value, what);
  if (length > MAX_TRANSFER_BYTES)
    throw new InvalidArgumentError(`${what} ${length} is over the ${MAX_TRANSFER_BYTES}-byte limit of one read; read in pieces`);
  return length;
}

/** An unsigned value that fits in `bits` bits, as a bigint. */
export function checkUnsigned(value: unknown, bits: number, what = 'value'): bigint {
  const v = toBigInt(value, what);
  const max = (1n << BigInt(bits)) - 1n;
  if (v < 0n || v > max) throw new InvalidArgumentError(`${what} ${v} does not fit in ${bits} unsigned bits (0 to 0x${max.toString(16)})`);
  return v;
}

/** A C `int`, as QEMU parses with `qemu_strtoi`. */
export function checkInt32(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) {
    throw new InvalidArgumentError(`${what} must be a 32-bit signed integer, got ${describeValue(value)}`);
  }
  return value;
}
