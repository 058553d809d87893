import { InvalidArgumentError } from '../errors.js';
import type { GdbClient } from '../gdb/gdb-client.js';
import { describeValue } from '../integers.js';

/** ARM core register names accepted by {@link Registers}; `sp`/`lr`/`pc` alias r13–r15, `cpsr` aliases `xpsr`. */
export type ArmRegisterName =
  | 'r0'
  | 'r1'
  | 'r2'
  | 'r3'
  | 'r4'
  | 'r5'
  | 'r6'
  | 'r7'
  | 'r8'
  | 'r9'
  | 'r10'
  | 'r11'
  | 'r12'
  | 'r13'
  | 'r14'
  | 'r15'
  | 'sp'
  | 'lr'
  | 'pc'
  | 'xpsr'
  | 'cpsr';

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

/** Registers through the gdbstub (which only answers while the VM is stopped). */
export function gdbRegisters(gdb: GdbClient): Registers {
  return {
    get: async (name) => Number(await gdb.readRegister(registerName(name))),
    set: async (name, value) => gdb.writeRegister(registerName(name), checkRegisterValue(name, value)),
    all: async () => Object.fromEntries(Object.entries(await gdb.readRegisters()).map(([name, value]) => [name, Number(value)])),
  };
}

/** The gdbstub's name for a register (r13–r15 and cpsr have their own names there). */
function registerName(name: string): string {
  const n = registerNumber(name);
  return n === XPSR ? 'xpsr' : n === 13 ? 'sp' : n === 14 ? 'lr' : n === 15 ? 'pc' : `r${n}`;
}

/** Wraps `registers` so every access first checks that the guest is paused or frozen. */
export function whilePaused(registers: Registers, paused: () => boolean): Registers {
  const check = () => {
    if (!paused()) throw new InvalidArgumentError('registers can be read only while the guest is paused or frozen in a trigger callback');
  };
  return {
    get: async (name) => {
      check();
      return registers.get(name);
    },
    set: async (name, value) => {
      check();
      return registers.set(name, value);
    },
    all: async () => {
      check();
      return registers.all();
    },
  };
}
