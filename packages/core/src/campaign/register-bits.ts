/**
 * Register widths for a campaign's register targets, from the architecture the kernel ELF is for:
 * a bit-flip or stuck-at space over `x5` on RV64 or AArch64 covers all 64 bits.
 */
import { architecturesOfElf, findRegister, registerNamed } from '../arch/index.js';
import type { ElfImage } from '../elf/elf-file.js';
import type { RegisterBits } from './enumerate.js';

/**
 * @throws {InvalidArgumentError} no architecture the ELF may be for has the register (the message
 * lists the ones it has).
 */
export function registerBitsOf(elf: Pick<ElfImage, 'machine' | 'bits'>): RegisterBits {
  const archs = architecturesOfElf(elf.machine, elf.bits);
  return (name) => {
    if (!archs.length) return 32;
    // 32-bit ARM code may run on either profile: the first that names the register (xpsr: M, cpsr: A/R).
    const spec = archs.map((arch) => registerNamed(arch, name)).find((r) => r !== undefined);
    return (spec ?? findRegister(archs[0]!, name)).bits;
  };
}
