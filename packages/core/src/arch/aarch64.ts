import type { Architecture, RegisterSpec } from './architecture.js';

const REGISTERS: readonly RegisterSpec[] = [
  ...Array.from({ length: 31 }, (_, n): RegisterSpec => ({ name: `x${n}`, aliases: [], gdb: n, bits: 64 })),
  { name: 'sp', aliases: [], gdb: 31, bits: 64 },
  { name: 'pc', aliases: [], gdb: 32, bits: 64 },
  { name: 'cpsr', aliases: ['pstate'], gdb: 33, bits: 32 },
];

/** AArch64 (Cortex-A53 and later in 64-bit state): fixed 4-byte instructions, `hlt #0xf000`. */
export const AARCH64: Architecture = {
  id: 'aarch64',
  title: 'AArch64',
  target: 'aarch64',
  registers: REGISTERS,
  wordBits: 64,
  semihostingRegisters: ['x0', 'x1'],
  semihostingTraps: [{ text: 'hlt #0xf000', words: [0xd45e0000], unit: 4, trapOffset: 0 }],
  instructionLength: () => 4,
};
