/**
 * What a campaign needs from the kernel's code beyond its symbols: where the firmware calls
 * semihosting (so an exit can be caught before it ends QEMU), and how long a Thumb instruction is
 * (so one can be skipped).
 */
import { readFile } from 'node:fs/promises';
import type { ElfImage } from '../elf/elf-file.js';

/** `bkpt 0xab`: the Thumb semihosting call. */
const THUMB_SEMIHOSTING_BKPT = 0xbeab;
const PT_LOAD = 1;
const PF_X = 1;

/**
 * Addresses of the `bkpt 0xab` instructions inside the functions of a 32-bit little-endian ARM ELF
 * (Cortex-M firmware). Halfwords that only look like one (in literal pools) are harmless: a trap
 * on code that never runs never fires. Empty for other architectures.
 */
export async function semihostingSites(elf: ElfImage): Promise<number[]> {
  if (elf.machine !== 'arm' || elf.bits !== 32 || elf.endianness !== 'little') return [];
  const data = await readFile(elf.path);
  const phoff = data.readUInt32LE(28);
  const phentsize = data.readUInt16LE(42);
  const phnum = data.readUInt16LE(44);
  const functions = [...elf.symbols.values()].filter((s) => s.type === 'func' && s.size > 0);
  const inFunction = (addr: number) => functions.some((f) => addr >= f.address && addr < f.address + f.size);
  const sites = new Set<number>();
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 32 > data.length || data.readUInt32LE(ph) !== PT_LOAD || !(data.readUInt32LE(ph + 24) & PF_X)) continue;
    const offset = data.readUInt32LE(ph + 4);
    const vaddr = data.readUInt32LE(ph + 8);
    const filesz = Math.min(data.readUInt32LE(ph + 16), data.length - offset);
    for (let off = 0; off + 2 <= filesz; off += 2) {
      const addr = vaddr + off;
      if (data.readUInt16LE(offset + off) === THUMB_SEMIHOSTING_BKPT && inFunction(addr)) sites.add(addr);
    }
  }
  return [...sites].sort((a, b) => a - b);
}

/** Length in bytes of the Thumb instruction whose first halfword is `halfword` (2 or 4). */
export function thumbInstructionLength(halfword: number): 2 | 4 {
  const top5 = (halfword >>> 11) & 0x1f;
  return top5 === 0b11101 || top5 === 0b11110 || top5 === 0b11111 ? 4 : 2;
}

/** Semihosting operation numbers that end the program. */
export const SYS_EXIT = 0x18;
export const SYS_EXIT_EXTENDED = 0x20;
/** `ADP_Stopped_ApplicationExit`: the one reason QEMU turns into the given exit code (others give 1). */
export const ADP_STOPPED_APPLICATION_EXIT = 0x20026;
