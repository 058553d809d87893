import type { Architecture, RegisterSpec } from './architecture.js';

/** The ABI names of x0-x31, as QEMU's gdb description spells them (`fp` for x8, also `s0`). */
const ABI_NAMES = [
  'zero',
  'ra',
  'sp',
  'gp',
  'tp',
  't0',
  't1',
  't2',
  'fp',
  's1',
  'a0',
  'a1',
  'a2',
  'a3',
  'a4',
  'a5',
  'a6',
  'a7',
  's2',
  's3',
  's4',
  's5',
  's6',
  's7',
  's8',
  's9',
  's10',
  's11',
  't3',
  't4',
  't5',
  't6',
];

function registers(bits: 32 | 64): RegisterSpec[] {
  return [
    ...ABI_NAMES.map((name, n): RegisterSpec => ({ name, aliases: n === 8 ? [`x${n}`, 's0'] : [`x${n}`], gdb: n, bits })),
    { name: 'pc', aliases: [], gdb: 32, bits },
  ];
}

/**
 * RISC-V instruction length from its first bytes (the base ISA's encoding rule): low bits other
 * than 0b11 are a 2-byte compressed instruction, then 4, 6 and 8 bytes.
 */
function instructionLength(code: Uint8Array): number {
  const low = code[0] ?? 0;
  if ((low & 0b11) !== 0b11) return 2;
  if ((low & 0b11100) !== 0b11100) return 4;
  if ((low & 0b111111) === 0b011111) return 6;
  return 8;
}

/** `slli x0,x0,0x1f; ebreak; srai x0,x0,7`: uncompressed, the `ebreak` traps. */
const SEMIHOSTING = {
  text: 'slli x0,x0,0x1f; ebreak; srai x0,x0,7',
  words: [0x01f01013, 0x00100073, 0x40705013],
  unit: 4,
  trapOffset: 4,
} as const;

function riscv(bits: 32 | 64): Architecture {
  return {
    id: bits === 32 ? 'riscv32' : 'riscv64',
    title: `RISC-V ${bits}`,
    target: bits === 32 ? 'riscv32' : 'riscv64',
    registers: registers(bits),
    wordBits: bits,
    semihostingRegisters: ['a0', 'a1'],
    semihostingTraps: [SEMIHOSTING],
    instructionLength,
  };
}

/** RV32 (`qemu-system-riscv32`: virt, sifive_e). */
export const RISCV32 = riscv(32);
/** RV64 (`qemu-system-riscv64`: virt). */
export const RISCV64 = riscv(64);
