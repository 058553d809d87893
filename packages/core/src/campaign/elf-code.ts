/**
 * What a campaign needs from the kernel's code beyond its symbols: where the firmware calls
 * semihosting (so an exit can be caught before it ends QEMU), on every architecture.
 */
import { readFile } from 'node:fs/promises';
import { architecturesOfElf } from '../arch/index.js';
import { semihostingSites as findSites, type SemihostingSite } from '../arch/semihosting-sites.js';
import type { ElfImage } from '../elf/elf-file.js';
import { loadSegments } from '../elf/segments.js';

/**
 * The semihosting call sites inside the functions of the ELF: Thumb `bkpt 0xab` (M profile), A32
 * `svc 0x123456` / `hlt 0xf000` and T32 `svc 0xab` (A/R profile), A64 `hlt #0xf000`, RISC-V's
 * `slli; ebreak; srai`. Empty for other architectures. Every site is trapped: the plugin's trigger
 * table grows.
 */
export async function semihostingSites(elf: ElfImage): Promise<SemihostingSite[]> {
  const architectures = architecturesOfElf(elf.machine, elf.bits);
  if (!architectures.length) return [];
  const segments = loadSegments(await readFile(elf.path), elf.bits, elf.endianness);
  const functions = [...elf.symbols.values()].filter((s) => s.type === 'func' && s.size > 0);
  const inFunction = (addr: number) => functions.some((f) => addr >= f.address && addr < f.address + f.size);
  return findSites(segments, architectures, elf.endianness, inFunction);
}

/** Semihosting operation numbers that end the program. */
export const SYS_EXIT = 0x18;
export const SYS_EXIT_EXTENDED = 0x20;
/** `ADP_Stopped_ApplicationExit`: the one reason QEMU turns into the given exit code (others give 1). */
export const ADP_STOPPED_APPLICATION_EXIT = 0x20026;
