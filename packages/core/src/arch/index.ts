/**
 * The architectures qemu-fault knows, and the lookups everything above uses: which one a QEMU
 * target and CPU model are, a register by any of its names, register values in and out.
 */
import { InvalidArgumentError } from '../errors.js';
import type { RegisterValue } from '../gdb/register-value.js';
import { describeValue } from '../integers.js';
import { AARCH64 } from './aarch64.js';
import type { Architecture, RegisterSpec } from './architecture.js';
import { ARM_AR } from './arm-ar.js';
import { ARM_M } from './arm-m.js';
import { RISCV32, RISCV64 } from './riscv.js';

export type { RegisterValue } from '../gdb/register-value.js';
export type { Architecture, ArchitectureId, RegisterSpec, SemihostingTrap } from './architecture.js';
export { AARCH64, ARM_AR, ARM_M, RISCV32, RISCV64 };

/** Every architecture, in the order help and the README list them. */
export const ARCHITECTURES: readonly Architecture[] = [ARM_M, ARM_AR, AARCH64, RISCV32, RISCV64];

/** ARM cores without AArch64, which `qemu-system-aarch64` also has (the ZynqMP's Cortex-R5s). */
const ARM32_ONLY = /^(cortex-(r\d+f?|a(5|7|8|9|15)|m\d+)-|arm\d)/;

/**
 * The architecture of a CPU: QEMU's target (`query-cpus-fast`'s `target`, the plugin's) and, for
 * ARM, the CPU's QOM type (`cortex-m33-arm-cpu` is M profile, `cortex-r5f-arm-cpu` A/R; without
 * one, `arm` is taken for M profile).
 */
export function architectureOf(target: string, cpuType?: string): Architecture | undefined {
  const m = cpuType !== undefined && /^cortex-m\d/.test(cpuType);
  switch (target) {
    case 'arm':
      return cpuType === undefined || m ? ARM_M : ARM_AR;
    case 'aarch64':
      return cpuType !== undefined && ARM32_ONLY.test(cpuType) ? (m ? ARM_M : ARM_AR) : AARCH64;
    case 'riscv32':
      return RISCV32;
    case 'riscv64':
      return RISCV64;
    default:
      return undefined;
  }
}

/** The architectures an ELF's code may be for (32-bit ARM: either profile). */
export function architecturesOfElf(machine: string, bits: 32 | 64): Architecture[] {
  if (machine === 'arm') return [ARM_M, ARM_AR];
  if (machine === 'aarch64') return [AARCH64];
  if (machine === 'riscv') return [bits === 32 ? RISCV32 : RISCV64];
  return [];
}

/** Whether some architecture has a register called `name` (a campaign checks names before it knows the machine). */
export function isRegisterName(name: unknown): boolean {
  return typeof name === 'string' && ARCHITECTURES.some((arch) => registerNamed(arch, name) !== undefined);
}

/** `arch`'s register called `name` (its gdb name or an alias, any case), if it has one. */
export function registerNamed(arch: Architecture, name: string): RegisterSpec | undefined {
  const lower = name.toLowerCase();
  return arch.registers.find((r) => r.name === lower || r.aliases.includes(lower));
}

/** The names `arch`'s registers are listed by in messages: `sp (r13)`. */
export function registerList(arch: Architecture): string {
  return arch.registers.map((r) => (r.aliases.length ? `${r.name} (${r.aliases.join(', ')})` : r.name)).join(', ');
}

/** @throws {InvalidArgumentError} `arch` has no register called `name`; the message lists the ones it has. */
export function findRegister(arch: Architecture, name: unknown): RegisterSpec {
  const spec = typeof name === 'string' ? registerNamed(arch, name) : undefined;
  if (spec) return spec;
  throw new InvalidArgumentError(`unknown register ${describeValue(name)} on ${arch.title}; this machine has: ${registerList(arch)}`);
}

/** Checks a value for `spec`: an unsigned integer (`number` or `bigint`) that fits its width. */
export function checkRegisterValue(spec: RegisterSpec, value: unknown): bigint {
  const v = typeof value === 'bigint' ? value : typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : undefined;
  if (v === undefined || v < 0n || v >= 1n << BigInt(spec.bits)) {
    throw new InvalidArgumentError(`register ${spec.name} takes an unsigned ${spec.bits}-bit integer, got ${describeValue(value)}`);
  }
  return v;
}

/** A raw register value as the API returns it: a `number` up to 32 bits, else a `bigint`. */
export function registerValue(spec: RegisterSpec, raw: bigint): RegisterValue {
  return spec.bits <= 32 ? Number(raw) : raw;
}
