import { type Architecture, checkRegisterValue, findRegister, type RegisterSpec, registerValue } from '../arch/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { GdbClient, RegisterInfo } from '../gdb/gdb-client.js';
import type { RegisterValue } from '../gdb/register-value.js';

/** 32-bit ARM core register names (M, R and A profiles); `sp`/`lr`/`pc` alias r13–r15, `cpsr` aliases `xpsr`. */
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

/** Registers 32 bits wide on every architecture that has them: they read as a `number`. */
export type Register32Name = Exclude<ArmRegisterName, 'sp' | 'pc'>;

/**
 * A core register by the name the architecture's gdb target description gives it, or an alias:
 * ARM `r0`–`r15`, `sp`, `lr`, `pc`, `xpsr`/`cpsr`; AArch64 `x0`–`x30`, `sp`, `pc`, `cpsr`; RISC-V
 * `x0`–`x31` or their ABI names (`zero`, `ra`, `sp`, `a0`, `s0`/`fp`, ...) and `pc`.
 */
export type RegisterName =
  | ArmRegisterName
  | `x${number}`
  | 'zero'
  | 'ra'
  | 'gp'
  | 'tp'
  | 'fp'
  | `a${number}`
  | `s${number}`
  | `t${number}`
  | (string & {});

/** Which CPU's registers. */
export interface RegisterOptions<C = number> {
  /** A CPU (default: the one that froze, in a callback; else CPU 0). Any CPU while the machine is frozen or paused. */
  cpu?: C;
}

/**
 * Reads and writes the core registers where the guest is stopped or frozen. Values are a `number`
 * for registers up to 32 bits and a `bigint` for wider ones (AArch64, RV64); writes take either.
 * An unknown name is an `InvalidArgumentError` that lists the machine's registers.
 */
export interface Registers<C = number> {
  get(name: Register32Name, options?: RegisterOptions<C>): Promise<number>;
  get(name: RegisterName, options?: RegisterOptions<C>): Promise<RegisterValue>;
  set(name: RegisterName, value: RegisterValue, options?: RegisterOptions<C>): Promise<void>;
  /** Every core register by its gdb name. */
  all(options?: RegisterOptions<C>): Promise<Record<string, RegisterValue>>;
}

/** Raw register access by {@link RegisterSpec}, which {@link registersOver} gives names and checks. */
export interface RegisterBackend {
  /** The architecture of `cpu` (default: the one the backend reads by default). */
  architecture(cpu: number | undefined): Promise<Architecture>;
  read(spec: RegisterSpec, cpu: number | undefined): Promise<bigint>;
  write(spec: RegisterSpec, value: bigint, cpu: number | undefined): Promise<void>;
  /** Every core register the backend has, in the architecture's order. */
  all(cpu: number | undefined): Promise<Array<[RegisterSpec, bigint]>>;
}

/** {@link Registers} over a backend: names resolved and values checked before anything is sent. */
export function registersOver(backend: RegisterBackend): Registers {
  const get = async (name: RegisterName, options: RegisterOptions = {}) => {
    const spec = findRegister(await backend.architecture(options.cpu), name);
    return registerValue(spec, await backend.read(spec, options.cpu));
  };
  return {
    get: get as Registers['get'],
    set: async (name, value, options = {}) => {
      const spec = findRegister(await backend.architecture(options.cpu), name);
      await backend.write(spec, checkRegisterValue(spec, value), options.cpu);
    },
    all: async (options = {}) =>
      Object.fromEntries((await backend.all(options.cpu)).map(([spec, raw]) => [spec.name, registerValue(spec, raw)] as const)),
  };
}

/** Registers through the gdbstub (which only answers while the VM is stopped). */
export function gdbRegisters(gdb: GdbClient, architecture: (cpu: number | undefined) => Promise<Architecture>): Registers {
  // The gdbstub's own name for a register: A/R profile says cpsr where M says xpsr.
  const gdbName = (spec: RegisterSpec, known: readonly RegisterInfo[]) =>
    [spec.name, ...spec.aliases].find((n) => known.some((r) => r.name === n)) ?? spec.name;
  return registersOver({
    architecture,
    read: async (spec, cpu) => BigInt(await gdb.readRegister(gdbName(spec, await gdb.registers()), cpu)),
    write: async (spec, value, cpu) =>
      gdb.writeRegister(gdbName(spec, await gdb.registers()), spec.bits <= 32 ? Number(value) : value, cpu),
    all: async (cpu) => {
      const [values, known] = [await gdb.readRegisters(cpu), await gdb.registers()];
      return (await architecture(cpu)).registers.flatMap((spec): Array<[RegisterSpec, bigint]> => {
        const value = values[gdbName(spec, known)];
        return value === undefined ? [] : [[spec, BigInt(value)]];
      });
    },
  });
}

/** Wraps `registers` so every access first checks that the guest is paused or frozen. */
export function whilePaused<C>(registers: Registers<C>, paused: () => boolean): Registers<C> {
  const check = () => {
    if (!paused()) throw new InvalidArgumentError('registers can be read only while the guest is paused or frozen in a trigger callback');
  };
  const get = async (name: RegisterName, options?: RegisterOptions<C>) => {
    check();
    return registers.get(name, options);
  };
  return {
    get: get as Registers<C>['get'],
    set: async (name, value, options) => {
      check();
      return registers.set(name, value, options);
    },
    all: async (options) => {
      check();
      return registers.all(options);
    },
  };
}
