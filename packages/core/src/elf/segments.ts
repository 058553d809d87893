/** The loadable segments of an ELF image, from its program headers (32- and 64-bit, either byte order). */

const PT_LOAD = 1;
const PF_X = 1;

/** One `PT_LOAD` segment's file bytes and where they load. */
export interface LoadSegment {
  vaddr: number;
  data: Buffer;
  executable: boolean;
}

/** The `PT_LOAD` segments of the ELF file `data` (truncated headers are skipped, never read past the end). */
export function loadSegments(data: Buffer, bits: 32 | 64, endianness: 'little' | 'big'): LoadSegment[] {
  const le = endianness === 'little';
  const u16 = (o: number) => (le ? data.readUInt16LE(o) : data.readUInt16BE(o));
  const u32 = (o: number) => (le ? data.readUInt32LE(o) : data.readUInt32BE(o));
  const word = (o: number) => (bits === 32 ? u32(o) : Number(le ? data.readBigUInt64LE(o) : data.readBigUInt64BE(o)));
  const header = bits === 32 ? { phoff: 28, phentsize: 42, phnum: 44 } : { phoff: 32, phentsize: 54, phnum: 56 };
  if (data.length < (bits === 32 ? 52 : 64)) return [];
  const phoff = word(header.phoff);
  const phentsize = u16(header.phentsize);
  const phnum = u16(header.phnum);
  const at = bits === 32 ? { offset: 4, vaddr: 8, filesz: 16, flags: 24 } : { offset: 8, vaddr: 16, filesz: 32, flags: 4 };
  const segments: LoadSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + (bits === 32 ? 32 : 56) > data.length || u32(ph) !== PT_LOAD) continue;
    const offset = word(ph + at.offset);
    if (offset > data.length) continue;
    const filesz = Math.min(word(ph + at.filesz), data.length - offset);
    segments.push({
      vaddr: word(ph + at.vaddr),
      data: data.subarray(offset, offset + filesz),
      executable: (u32(ph + at.flags) & PF_X) !== 0,
    });
  }
  return segments;
}
