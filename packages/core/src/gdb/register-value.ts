import { ProtocolError } from '../errors.js';
import { checkUnsigned } from '../integers.js';

/** A register's value: a `number` for registers up to 32 bits, a `bigint` for wider ones. */
export type RegisterValue = number | bigint;

/** Hex digits a register of `bitsize` bits takes in `p`/`g` packets. */
export function registerHexLength(bitsize: number): number {
  return Math.ceil(bitsize / 8) * 2;
}

/**
 * Decodes a register from `p`/`g` hex, which is in the target's byte order.
 * @throws {ProtocolError} not the right number of hex digits.
 */
export function decodeRegister(hex: string, bitsize: number, endianness: 'little' | 'big'): RegisterValue {
  if (hex.length !== registerHexLength(bitsize) || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new ProtocolError(`register value '${hex}' is not ${registerHexLength(bitsize)} hex digits`);
  }
  const bytes = Buffer.from(hex, 'hex');
  if (endianness === 'little') bytes.reverse();
  const value = bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
  return bitsize <= 32 ? Number(value) : value;
}

/**
 * Encodes a value for `P`/`G`.
 * @throws {InvalidArgumentError} the value is negative or does not fit in `bitsize` bits.
 */
export function encodeRegister(value: RegisterValue, bitsize: number, endianness: 'little' | 'big', name: string): string {
  const v = checkUnsigned(value, bitsize, `value for register ${name}`);
  const bytes = Buffer.from(v.toString(16).padStart(registerHexLength(bitsize), '0'), 'hex');
  if (endianness === 'little') bytes.reverse();
  return bytes.toString('hex');
}
