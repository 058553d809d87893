import { InvalidArgumentError } from '@qemu-fault/core';
import { describe, expect, it } from 'vitest';
import { checkSize, decodeValue, encodeValue, toUnsigned } from '../../packages/core/src/framework/values.js';
import { checkAddress as toAddress } from '../../packages/core/src/integers.js';

describe('access values', () => {
  it('encodes and decodes every size in both byte orders', () => {
    expect(encodeValue(0x11223344n, 4, 'little')).toEqual(Buffer.from([0x44, 0x33, 0x22, 0x11]));
    expect(encodeValue(0x11223344n, 4, 'big')).toEqual(Buffer.from([0x11, 0x22, 0x33, 0x44]));
    expect(decodeValue(Buffer.from([0x34, 0x12]), 2, 'little')).toBe(0x1234);
    expect(decodeValue(Buffer.from([0xef, 0xbe, 0xad, 0xde]), 4, 'little')).toBe(0xdeadbeef);
    const big = 0x8877665544332211n;
    const bytes = encodeValue(big, 8, 'little');
    expect(bytes[0]).toBe(0x11);
    expect(decodeValue(bytes, 8, 'little')).toBe(big);
    expect(typeof decodeValue(bytes, 8, 'little')).toBe('bigint');
    expect(decodeValue(encodeValue(0xffn, 1, 'big'), 1, 'big')).toBe(0xff);
  });

  it('rejects sizes outside 1/2/4/8', () => {
    for (const size of [0, 3, 16, -1, 2.5, '4', undefined]) {
      expect(() => checkSize(size)).toThrow(InvalidArgumentError);
    }
    expect(() => checkSize(8)).not.toThrow();
  });

  it('rejects values that do not fit the size', () => {
    expect(() => toUnsigned(0x100, 1)).toThrow(/value for a 1-byte access 256 does not fit/);
    expect(() => toUnsigned(0x1_0000_0000, 4)).toThrow(InvalidArgumentError);
    expect(() => toUnsigned(-1, 4)).toThrow(InvalidArgumentError);
    expect(() => toUnsigned(1.5, 4)).toThrow(/integer/);
    expect(() => toUnsigned(1n << 64n, 8)).toThrow(InvalidArgumentError);
    expect(toUnsigned(0xffffffff, 4)).toBe(0xffffffffn);
    expect(toUnsigned((1n << 64n) - 1n, 8)).toBe((1n << 64n) - 1n);
  });

  it('rejects negative, fractional and out-of-space addresses', () => {
    expect(() => toAddress(-4)).toThrow(/must not be negative/);
    expect(() => toAddress(0.5)).toThrow(InvalidArgumentError);
    expect(() => toAddress(Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => toAddress('0x20000000')).toThrow(InvalidArgumentError);
    expect(() => toAddress((1n << 64n) - 2n, 4)).toThrow(/beyond the 64-bit/);
    expect(toAddress(0x20000000)).toBe(0x20000000n);
  });
});
