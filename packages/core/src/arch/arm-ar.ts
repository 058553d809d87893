import { type Architecture, thumbLength } from './architecture.js';
import { armRegisters } from './arm-registers.js';

/** CPSR's T bit: the core is in Thumb state. */
const CPSR_T = 1 << 5;

/**
 * ARM A and R profiles in AArch32 (Cortex-A7/A9/A15, Cortex-R5): A32 or T32 by CPSR.T. Semihosting
 * is `svc 0x123456` (A32) or `svc 0xab` (T32), and from ARMv8 `hlt 0xf000` / `hlt 0x3c`.
 */
export const ARM_AR: Architecture = {
  id: 'arm-ar',
  title: 'ARM A/R-profile, AArch32 (A32/T32)',
  target: 'arm',
  registers: armRegisters('cpsr'),
  wordBits: 32,
  semihostingRegisters: ['r0', 'r1'],
  semihostingTraps: [
    { text: 'svc 0x123456', words: [0xef123456], unit: 4, trapOffset: 0 },
    { text: 'hlt 0xf000', words: [0xe10f0070], unit: 4, trapOffset: 0 },
    { text: 'svc 0xab (T32)', words: [0xdfab], unit: 2, trapOffset: 0 },
    { text: 'hlt 0x3c (T32)', words: [0xbabc], unit: 2, trapOffset: 0 },
  ],
  stateRegister: 'cpsr',
  instructionLength: (code, cpsr) => (Number(BigInt(cpsr ?? 0) & BigInt(CPSR_T)) ? thumbLength(code) : 4),
};
