/**
 * What the framework needs to know about a guest architecture: its core registers as the gdb
 * target description spells them, how long an instruction is (to skip one), and how the firmware
 * exits through semihosting (to catch the exit before it ends QEMU).
 */

/** The architecture families qemu-fault drives. */
export type ArchitectureId = 'arm-m' | 'arm-ar' | 'aarch64' | 'riscv32' | 'riscv64';

/** A core register: its gdb name and number, other names it goes by, and its width. */
export interface RegisterSpec {
  /** As the gdb target description spells it (`r0`, `sp`, `x30`, `a0`, `pc`, `xpsr`). */
  readonly name: string;
  /** Other accepted names (`r13` for `sp`, RISC-V `x10` for `a0`, `s0` for `fp`). */
  readonly aliases: readonly string[];
  /** Number in the architecture's gdb core feature (the plugin's `regs`/`setreg` numbering). */
  readonly gdb: number;
  readonly bits: 32 | 64;
}

/** A semihosting call as it appears in code: the trapping instruction and what surrounds it. */
export interface SemihostingTrap {
  /** What the sequence is, for messages (`hlt #0xf000`). */
  readonly text: string;
  /** The whole sequence, as 32-bit little-endian words or 16-bit halfwords (see `unit`). */
  readonly words: readonly number[];
  readonly unit: 2 | 4;
  /** Byte offset of the instruction that traps (RISC-V: the `ebreak` in the middle). */
  readonly trapOffset: number;
}

/** A guest architecture (see {@link ArchitectureId}). */
export interface Architecture {
  readonly id: ArchitectureId;
  /** How people call it, for messages and help: `RISC-V 64`, `AArch64`. */
  readonly title: string;
  /** QEMU's target (its `qemu-system-*` binary and the plugin's `target`). */
  readonly target: 'arm' | 'aarch64' | 'riscv32' | 'riscv64';
  readonly registers: readonly RegisterSpec[];
  /** Register width in bits: values wider than 32 bits are `bigint`s. */
  readonly wordBits: 32 | 64;
  /** Register holding the semihosting operation, and the one holding its parameter. */
  readonly semihostingRegisters: readonly [operation: string, parameter: string];
  /** The semihosting call sequences the firmware may use. */
  readonly semihostingTraps: readonly SemihostingTrap[];
  /**
   * Length in bytes of the instruction whose first bytes are `code` (at least 4 of them, fewer at
   * the end of memory). `state` is the value of the register named by {@link stateRegister}.
   */
  instructionLength(code: Uint8Array, state: bigint | number | undefined): number;
  /** Register whose value decides the instruction set (A/R profile: `cpsr`, for its T bit). */
  readonly stateRegister?: string;
}

/** A 16-bit little-endian halfword of `code` at `offset`. */
export function halfword(code: Uint8Array, offset = 0): number {
  return (code[offset] ?? 0) | ((code[offset + 1] ?? 0) << 8);
}

/** Thumb: a first halfword with top bits 0b11101, 0b11110 or 0b11111 starts a 32-bit instruction. */
export function thumbLength(code: Uint8Array): 2 | 4 {
  const top5 = (halfword(code) >>> 11) & 0x1f;
  return top5 === 0b11101 || top5 === 0b11110 || top5 === 0b11111 ? 4 : 2;
}
