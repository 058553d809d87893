import { InvalidArgumentError } from '../errors.js';
import { checkUnsigned, describeValue } from '../integers.js';

/** Access sizes in bytes that `read`/`write` take. */
export type AccessSize = 1 | 2 | 4 | 8;

/** What a read of `S` bytes returns: a `number` up to 4 bytes, a `bigint` for 8. */
export type ValueOf<S extends AccessSize> = S extends 8 ? bigint : number;

/** What a write of `S` bytes accepts: 8-byte writes also take a safe-integer `number`. */
export type WritableValue<S extends AccessSize> = S extends 8 ? bigint | number : number;

/** A guest address: a non-negative integer as `number` (up to 2^53) or `bigint`. */
export type Address = number | bigint;

export type Endianness = 'little' | 'big';

const SIZES: readonly number[] = [1, 2, 4, 8];

export function checkSize(size: unknown): asserts size is AccessSize {
  if (!SIZES.includes(size as number)) throw new InvalidArgumentError(`size must be 1, 2, 4 or 8 bytes, got ${describeValue(size)}`);
}

/** Validates that `value` fits in `size` bytes (unsigned) and returns it as a bigint. */
export function toUnsigned(value: unknown, size: AccessSize): bigint {
  return checkUnsigned(value, size * 8, `value for a ${size}-byte access`);
}

/** Encodes an unsigned value as `size` bytes in the target's byte order. */
export function encodeValue(value: bigint, size: AccessSize, endianness: Endianness): Buffer {
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) {
    const byte = Number((value >> BigInt(8 * i)) & 0xffn);
    buf[endianness === 'little' ? i : size - 1 - i] = byte;
  }
  return buf;
}

/** Decodes `size` bytes in the target's byte order into a number (or bigint for 8 bytes). */
export function decodeValue<S extends AccessSize>(bytes: Buffer, size: S, endianness: Endianness): ValueOf<S> {
  let value = 0n;
  for (let i = 0; i < size; i++) {
    const byte = bytes[endianness === 'little' ? i : size - 1 - i]!;
    value |= BigInt(byte) << BigInt(8 * i);
  }
  return (size === 8 ? value : Number(value)) as ValueOf<S>;
}

/** `0x` + lower-case hex, for traces and messages. */
export function formatHex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}
