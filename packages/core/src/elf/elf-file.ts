import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ElfFormatError } from '../errors.js';
import { resolveSymbol } from './symbol-resolver.js';

/** One entry of the ELF symbol table. */
export interface ElfSymbol {
  name: string;
  /** The symbol's address. For ARM Thumb functions the interworking bit is cleared: this is where the code is. */
  address: number;
  size: number;
  type: 'func' | 'object' | 'notype' | 'other';
  /** ARM only: the function is Thumb code (its raw symbol value had bit 0 set). */
  thumb: boolean;
  /** Visible to other files (`STB_GLOBAL`/`STB_WEAK`); false for file-local (`static`) ones. */
  global: boolean;
  /** For a file-local symbol: its source file, as the `STT_FILE` symbol before it names it. */
  file?: string | undefined;
}

/** What the launcher and the framework need to know about a kernel image. */
export interface ElfImage {
  path: string;
  /** `e_machine` decoded: `arm`, `aarch64`, `riscv32`, ... or `unknown(<n>)`. */
  machine: string;
  bits: 32 | 64;
  endianness: 'little' | 'big';
  entry: number;
  /** By name; of several symbols of one name, a global one, else the first. */
  symbols: ReadonlyMap<string, ElfSymbol>;
  /**
   * The symbol `name` means (see `resolveSymbol`: `file.c:name` qualifies a file-local one, GCC's
   * `name.N` statics answer to `name`), or an `UnknownSymbolError` / `AmbiguousSymbolError`.
   */
  symbol(name: string): ElfSymbol;
}

const MACHINES: Record<number, string> = {
  40: 'arm',
  183: 'aarch64',
  243: 'riscv',
  8: 'mips',
  20: 'ppc',
  21: 'ppc64',
  62: 'x86_64',
  3: 'i386',
};
const SHT_SYMTAB = 2;
const SYMBOL_TYPES = ['notype', 'object', 'func'] as const;
const STT_FILE = 4;

/** Images read lately, by path, with the file's identity when read: a suite launches the same few kernels over and over. */
const recent = new Map<string, { identity: string; image: ElfImage }>();
const RECENT_IMAGES = 16;

/**
 * Reads an ELF file's header and symbol table. A file read before and unchanged since (same inode,
 * size, modification and change times, to the nanosecond) is not read again: its image is reused.
 */
export async function readElf(path: string): Promise<ElfImage> {
  let identity: string;
  try {
    const stat = statSync(path, { bigint: true });
    identity = `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  } catch (err) {
    throw unreadable(path, err);
  }
  const known = recent.get(path);
  if (known?.identity === identity) return known.image;
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw unreadable(path, err);
  }
  const image = parseElf(data, path);
  recent.delete(path);
  recent.set(path, { identity, image });
  if (recent.size > RECENT_IMAGES) recent.delete(recent.keys().next().value!);
  return image;
}

function unreadable(path: string, err: unknown): ElfFormatError {
  return new ElfFormatError(path, (err as NodeJS.ErrnoException).code ?? String(err));
}

/** Parses an ELF image held in memory (`path` only names it in errors). */
export function parseElf(data: Buffer, path = '<buffer>'): ElfImage {
  if (data.length < 52 || data.readUInt32BE(0) !== 0x7f454c46) throw new ElfFormatError(path, 'no ELF magic');
  const bits = data[4] === 2 ? 64 : data[4] === 1 ? 32 : undefined;
  const endianness = data[5] === 1 ? 'little' : data[5] === 2 ? 'big' : undefined;
  if (!bits || !endianness) throw new ElfFormatError(path, 'unknown ELF class or data encoding');
  const r = reader(data, bits, endianness, path);

  const eMachine = r.u16(18);
  const machine = MACHINES[eMachine] ?? `unknown(${eMachine})`;
  const entry = r.word(24);
  const shoff = r.word(bits === 64 ? 40 : 32);
  const shentsize = r.u16(bits === 64 ? 58 : 46);
  const shnum = r.u16(bits === 64 ? 60 : 48);

  const symbols = new Map<string, ElfSymbol>();
  const all: ElfSymbol[] = [];
  for (let i = 0; i < shnum; i++) {
    const sh = shoff + i * shentsize;
    if (r.u32(sh + 4) !== SHT_SYMTAB) continue;
    const offset = r.word(sh + (bits === 64 ? 24 : 16));
    const size = r.word(sh + (bits === 64 ? 32 : 20));
    const link = r.u32(sh + (bits === 64 ? 40 : 24));
    const entsize = r.word(sh + (bits === 64 ? 56 : 36));
    const strtab = r.word(shoff + link * shentsize + (bits === 64 ? 24 : 16));
    // The locals of each source file follow its STT_FILE symbol (the globals come after all locals).
    let file: string | undefined;
    for (let s = offset; s + entsize <= offset + size; s += entsize) {
      const entry = readSymbol(r, s, strtab, machine);
      if (entry.kind === 'file') file = entry.name;
      if (entry.kind !== 'symbol') continue;
      const sym = entry.global ? entry.symbol : { ...entry.symbol, file };
      all.push(sym);
      if (!symbols.has(sym.name) || sym.global) symbols.set(sym.name, sym);
    }
  }

  return {
    path,
    machine,
    bits,
    endianness,
    entry,
    symbols,
    symbol: (name: string): ElfSymbol => resolveSymbol(all, name, path),
  };
}

type SymbolEntry = { kind: 'symbol'; global: boolean; symbol: ElfSymbol } | { kind: 'file'; name: string } | { kind: 'other' };

function readSymbol(r: Reader, at: number, strtab: number, machine: string): SymbolEntry {
  const is64 = r.bits === 64;
  const nameOffset = r.u32(at);
  const info = r.u8(at + (is64 ? 4 : 12));
  const shndx = r.u16(at + (is64 ? 6 : 14));
  const value = r.word(at + (is64 ? 8 : 4));
  const size = r.word(at + (is64 ? 16 : 8));
  const name = r.cstring(strtab + nameOffset);
  const typeCode = info & 0xf;
  if (typeCode === STT_FILE) return { kind: 'file', name };
  if (!name || shndx === 0 || typeCode > 2) return { kind: 'other' }; // undefined or section symbols
  const type = SYMBOL_TYPES[typeCode] ?? 'other';
  // ARM marks Thumb functions with bit 0 of the value; the code itself starts one byte lower.
  const thumb = machine === 'arm' && type === 'func' && (value & 1) === 1;
  const global = info >> 4 !== 0;
  return { kind: 'symbol', global, symbol: { name, address: thumb ? value - 1 : value, size, type, thumb, global } };
}

interface Reader {
  bits: 32 | 64;
  u8(at: number): number;
  u16(at: number): number;
  u32(at: number): number;
  /** An address-sized field; 64-bit values above 2^53 are rejected rather than rounded. */
  word(at: number): number;
  cstring(at: number): string;
}

function reader(data: Buffer, bits: 32 | 64, endianness: 'little' | 'big', path: string): Reader {
  const le = endianness === 'little';
  const check = (at: number, n: number) => {
    if (at < 0 || at + n > data.length) throw new ElfFormatError(path, `truncated (offset ${at})`);
  };
  const u32 = (at: number) => {
    check(at, 4);
    return le ? data.readUInt32LE(at) : data.readUInt32BE(at);
  };
  return {
    bits,
    u8: (at) => {
      check(at, 1);
      return data.readUInt8(at);
    },
    u16: (at) => {
      check(at, 2);
      return le ? data.readUInt16LE(at) : data.readUInt16BE(at);
    },
    u32,
    word(at) {
      if (bits === 32) return u32(at);
      check(at, 8);
      const v = le ? data.readBigUInt64LE(at) : data.readBigUInt64BE(at);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfFormatError(path, `value at offset ${at} is too large`);
      return Number(v);
    },
    cstring(at) {
      check(at, 1);
      const end = data.indexOf(0, at);
      if (end < 0) throw new ElfFormatError(path, 'unterminated string');
      return data.toString('utf8', at, end);
    },
  };
}
