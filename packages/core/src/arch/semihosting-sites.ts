import type { LoadSegment } from '../elf/segments.js';
import type { Architecture, SemihostingTrap } from './architecture.js';

/** Where firmware calls semihosting: the trapping instruction, and where execution goes on after the sequence. */
export interface SemihostingSite {
  /** Address of the instruction that traps (a PC trigger goes there). */
  pc: number;
  /** Address of the first instruction after the whole sequence. */
  next: number;
  /** The sequence found, for names and messages. */
  trap: SemihostingTrap;
}

function matches(data: Buffer, offset: number, trap: SemihostingTrap, little: boolean): boolean {
  return trap.words.every((word, i) => {
    const at = offset + i * trap.unit;
    if (at + trap.unit > data.length) return false;
    const value =
      trap.unit === 2 ? (little ? data.readUInt16LE(at) : data.readUInt16BE(at)) : little ? data.readUInt32LE(at) : data.readUInt32BE(at);
    return value === word;
  });
}

/**
 * Every semihosting call sequence of `architectures` in the executable segments, at the
 * sequence's alignment, whose trapping instruction lies in `isCode` (inside a function: words of
 * a literal pool that only look like one are harmless anyway, a trap on code that never runs never
 * fires).
 */
export function semihostingSites(
  segments: readonly LoadSegment[],
  architectures: readonly Architecture[],
  endianness: 'little' | 'big',
  isCode: (address: number) => boolean,
): SemihostingSite[] {
  const sites = new Map<number, SemihostingSite>();
  const traps = architectures.flatMap((arch) => arch.semihostingTraps);
  for (const segment of segments.filter((s) => s.executable)) {
    for (const trap of traps) {
      for (let off = 0; off + trap.words.length * trap.unit <= segment.data.length; off += trap.unit) {
        const pc = segment.vaddr + off + trap.trapOffset;
        if (sites.has(pc) || !matches(segment.data, off, trap, endianness === 'little') || !isCode(pc)) continue;
        sites.set(pc, { pc, next: segment.vaddr + off + trap.words.length * trap.unit, trap });
      }
    }
  }
  return [...sites.values()].sort((a, b) => a.pc - b.pc);
}
