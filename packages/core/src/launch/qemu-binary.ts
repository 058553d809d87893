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

/** The QEMU system emulator for a kernel's architecture; `qemu-system-arm` when there is no kernel or it is unknown. */
export function defaultQemuBinary(elf: ElfImage | undefined): string {
  return (elf && SYSTEM_EMULATORS[elf.machine]?.(elf)) ?? 'qemu-system-arm';
}
