import { type Architecture, thumbLength } from './architecture.js';
import { armRegisters } from './arm-registers.js';

/** ARM M profile (Cortex-M0 to M55, ARMv6-M to ARMv8.1-M): Thumb only, semihosting by `bkpt 0xab`. */
export const ARM_M: Architecture = {
  id: 'arm-m',
  title: 'ARM M-profile (Thumb)',
  target: 'arm',
  registers: armRegisters('xpsr'),
  wordBits: 32,
  semihostingRegisters: ['r0', 'r1'],
  semihostingTraps: [{ text: 'bkpt 0xab', words: [0xbeab], unit: 2, trapOffset: 0 }],
  instructionLength: (code) => thumbLength(code),
};
