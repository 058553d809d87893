/** The architecture tables without QEMU: names, widths, instruction lengths, semihosting sequences. */
import { describe, expect, it } from 'vitest';
import {
  AARCH64,
  ARM_AR,
  ARM_M,
  architectureOf,
  checkRegisterValue,
  findRegister,
  isRegisterName,
  RISCV32,
  RISCV64,
  registerValue,
} from '../../packages/core/src/arch/index.js';
import { semihostingSites } from '../../packages/core/src/arch/semihosting-sites.js';
import { InvalidArgumentError } from '../../packages/core/src/errors.js';

const bytes = (...halfwordsOrWords: Array<[number, 2 | 4]>) =>
  Buffer.concat(
    halfwordsOrWords.map(([v, n]) => {
      const b = Buffer.alloc(n);
      if (n === 2) b.writeUInt16LE(v);
      else b.writeUInt32LE(v);
      return b;
    }),
  );

describe('architectures', () => {
  it('are chosen by QEMU target and CPU type', () => {
    expect(architectureOf('arm', 'cortex-m33-arm-cpu')).toBe(ARM_M);
    expect(architectureOf('arm', 'cortex-a15-arm-cpu')).toBe(ARM_AR);
    expect(architectureOf('aarch64', 'cortex-a53-arm-cpu')).toBe(AARCH64);
    expect(architectureOf('aarch64', 'cortex-r5f-arm-cpu')).toBe(ARM_AR);
    expect(architectureOf('riscv64')).toBe(RISCV64);
    expect(architectureOf('mips')).toBeUndefined();
  });

  it('name registers as gdb does, with aliases, and list them for an unknown name', () => {
    expect(findRegister(RISCV32, 'a0')).toMatchObject({ name: 'a0', gdb: 10, bits: 32 });
    expect(findRegister(RISCV64, 'x10')).toMatchObject({ name: 'a0', gdb: 10, bits: 64 });
    expect(findRegister(RISCV64, 's0')).toMatchObject({ name: 'fp', gdb: 8 });
    expect(findRegister(AARCH64, 'PC')).toMatchObject({ name: 'pc', gdb: 32, bits: 64 });
    expect(findRegister(AARCH64, 'cpsr')).toMatchObject({ gdb: 33, bits: 32 });
    expect(findRegister(ARM_M, 'r13')).toMatchObject({ name: 'sp', gdb: 13 });
    expect(findRegister(ARM_AR, 'cpsr')).toMatchObject({ gdb: 25 });
    expect(() => findRegister(AARCH64, 'r0')).toThrow(InvalidArgumentError);
    expect(() => findRegister(AARCH64, 'r0')).toThrow(/unknown register "r0" on AArch64; this machine has: x0, .*x30, sp, pc, cpsr/);
    expect(isRegisterName('a7')).toBe(true);
    expect(isRegisterName('q9')).toBe(false);
  });

  it('give values as number up to 32 bits and bigint beyond, and check writes against the width', () => {
    expect(registerValue(findRegister(AARCH64, 'x0'), 0x1_0000_0000n)).toBe(0x1_0000_0000n);
    expect(registerValue(findRegister(AARCH64, 'cpsr'), 0x3c5n)).toBe(0x3c5);
    expect(checkRegisterValue(findRegister(RISCV64, 'a0'), 2n ** 64n - 1n)).toBe(2n ** 64n - 1n);
    expect(() => checkRegisterValue(findRegister(RISCV32, 'a0'), 2 ** 32)).toThrow(/unsigned 32-bit/);
    expect(() => checkRegisterValue(findRegister(RISCV32, 'a0'), -1)).toThrow(InvalidArgumentError);
  });

  it('know instruction lengths', () => {
    expect(ARM_M.instructionLength(bytes([0xd101, 2]), undefined)).toBe(2); // bne.n
    expect(ARM_M.instructionLength(bytes([0xf000, 2]), undefined)).toBe(4); // bl (first half)
    expect(ARM_M.instructionLength(bytes([0xe92d, 2]), undefined)).toBe(4); // push.w
    expect(ARM_M.instructionLength(bytes([0xbeab, 2]), undefined)).toBe(2); // bkpt 0xab
    expect(ARM_AR.instructionLength(bytes([0x1a000002, 4]), 0x1d3)).toBe(4); // A32 bne, SVC mode
    expect(ARM_AR.instructionLength(bytes([0xd101, 2]), 0x1f3)).toBe(2); // T bit set: Thumb
    expect(AARCH64.instructionLength(bytes([0x54000041, 4]), undefined)).toBe(4);
    expect(RISCV32.instructionLength(bytes([0xe391, 2]), undefined)).toBe(2); // c.bnez
    expect(RISCV64.instructionLength(bytes([0x00b51463, 4]), undefined)).toBe(4); // bne
  });

  it('find semihosting sequences in code, with where execution goes on', () => {
    const code = (vaddr: number, data: Buffer) => [{ vaddr, data, executable: true }];
    const rv = bytes([0x00000013, 4], [0x01f01013, 4], [0x00100073, 4], [0x40705013, 4]);
    expect(semihostingSites(code(0x80000000, rv), [RISCV32], 'little', () => true)).toMatchObject([{ pc: 0x80000008, next: 0x80000010 }]);
    const a64 = bytes([0xd503201f, 4], [0xd45e0000, 4]);
    expect(semihostingSites(code(0x40000000, a64), [AARCH64], 'little', () => true)).toMatchObject([{ pc: 0x40000004, next: 0x40000008 }]);
    const thumb = bytes([0xbf00, 2], [0xbeab, 2]);
    expect(semihostingSites(code(0x100, thumb), [ARM_M, ARM_AR], 'little', () => true)).toMatchObject([{ pc: 0x102, next: 0x104 }]);
    // outside a function (a literal pool): ignored; a non-executable segment: ignored
    expect(semihostingSites(code(0x100, thumb), [ARM_M], 'little', () => false)).toEqual([]);
    expect(semihostingSites([{ vaddr: 0, data: a64, executable: false }], [AARCH64], 'little', () => true)).toEqual([]);
  });
});
