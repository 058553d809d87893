import { join } from 'node:path';
import type { ElfImage } from '../elf/elf-file.js';

const SYSTEM_EMULATORS: Record<string, (elf: ElfImage) => string> = {
  arm: () => 'qemu-system-arm',
  aarch64: () => 'qemu-system-aarch64',
  riscv: (elf) => (elf.bits === 64 ? 'qemu-system-riscv64' : 'qemu-system-riscv32'),
  mips: (elf) => `qemu-system-mips${elf.bits === 64 ? '64' : ''}${elf.endianness === 'little' ? 'el' : ''}`,
  ppc: () => 'qemu-system-ppc',
  ppc64: () => 'qemu-system-ppc64',
  x86_64: () => 'qemu-system-x86_64',
  i386: () => 'qemu-system-i386',
};

/** Where `qemu-system-*` binaries are taken from instead of PATH (another QEMU install). */
export const QEMU_DIR_VARIABLE = 'QEMU_FAULT_QEMU_DIR';

/**
 * The QEMU system emulator for a kernel's architecture (`qemu-system-arm` when there is no kernel
 * or it is unknown): from `$QEMU_FAULT_QEMU_DIR` when set, else found on PATH.
 */
export function defaultQemuBinary(elf: ElfImage | undefined): string {
  const name = (elf && SYSTEM_EMULATORS[elf.machine]?.(elf)) ?? 'qemu-system-arm';
  const dir = process.env[QEMU_DIR_VARIABLE];
  return dir ? join(dir, name) : name;
}
