import { InvalidArgumentError } from '../errors.js';
import { describeValue } from '../integers.js';

/** ARM core register names accepted by {@link Registers}; `sp`/`lr`/`pc` alias r13–r15, `cpsr` aliases `xpsr`. */
export type ArmRegisterName =
  | 'r0' | 'r1' | 'r2' | 'r3' | 'r4' | 'r5' | 'r6' | 'r7' | 'r8' | 'r9' | 'r10' | 'r11' | 'r12'
  | 'r13' | 'r14' | 'r15' | 'sp' | 'lr' | 'pc' | 'xpsr' | 'cpsr';

/** Reads and writes the CPU's core registers where the guest is stopped or frozen. */
export interface Registers {
  get(name: ArmRegisterName): Promise<number>;
  set(name: ArmRegisterName, value: number): Promise<void>;
  /** r0–r15 and xpsr at once. */
  all(): Promise<Record<string, number>>;
}

/** Plugin numbering: 0–15 are r0–r15, 25 is xPSR (as in the gdb M-profile description). */
export const XPSR = 25;

/** Maps a register name to the plugin's number, or throws a clear error. */
export function registerNumber(name: string): number {
  const lower = typeof name === 'string' ? name.toLowerCase() : '';
  const alias: Record<string, number> = { sp: 13, lr: 14, pc: 15, xpsr: XPSR, cpsr: XPSR };
  if (lower in alias) return alias[lower]!;
  const m = /^r(\d{1,2})$/.exec(lower);
  if (m && Number(m[1]) <= 15) return Number(m[1]);
  throw new InvalidArgumentError(`unknown register ${describeValue(name)}; use r0–r15, sp, lr, pc or xpsr (cpsr)`);
}

/** Checks a register value: an unsigned 32-bit integer. */
export function checkRegisterValue(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new InvalidArgumentError(`register ${name} takes an unsigned 32-bit integer, got ${describeValue(value)}`);
  }
  return value;
}
