import type { RegisterSpec } from './architecture.js';

/**
 * The 32-bit ARM core registers (M, R and A profiles): gdb numbers 0-15, and 25 for the status
 * register, which M-profile's description calls `xpsr` and A/R-profile's `cpsr` (both accepted
 * on both, named as the profile's description does).
 */
export function armRegisters(status: 'xpsr' | 'cpsr'): readonly RegisterSpec[] {
  return [
    ...Array.from({ length: 13 }, (_, n): RegisterSpec => ({ name: `r${n}`, aliases: [], gdb: n, bits: 32 })),
    { name: 'sp', aliases: ['r13'], gdb: 13, bits: 32 },
    { name: 'lr', aliases: ['r14'], gdb: 14, bits: 32 },
    { name: 'pc', aliases: ['r15'], gdb: 15, bits: 32 },
    { name: status, aliases: [status === 'xpsr' ? 'cpsr' : 'xpsr'], gdb: 25, bits: 32 },
  ];
}
