/**
 * Source locations of program counters, from the ELF's DWARF line table through the toolchain's
 * `addr2line` (no maintained npm library reads DWARF line tables of firmware ELFs): one process
 * for all the pcs of a campaign. Where no `addr2line` for the ELF's architecture is installed, the
 * result says so instead of failing.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findExecutable } from '../launch/find-executable.js';

/** Where a pc is in the source. */
export interface SourceLocation {
  /** The function containing it (`??` when the ELF has no debug information for it). */
  function: string;
  /** `file:line`, the file as the line table names it (`??:0` when unknown). */
  line: string;
}

/** The locations of a set of pcs, or why there are none. */
export interface SourceLines {
  /** The `addr2line` used, or undefined when none was found (then `missing` says what to install). */
  tool?: string;
  missing?: string;
  locations: ReadonlyMap<number, SourceLocation>;
}

const run = promisify(execFile);

/** `addr2line` programs per ELF machine, preferred first (the cross toolchains the example firmware builds with). */
const TOOLS: Record<string, string[]> = {
  arm: ['arm-none-eabi-addr2line', 'arm-linux-gnueabihf-addr2line'],
  aarch64: ['aarch64-linux-gnu-addr2line', 'aarch64-none-elf-addr2line'],
  riscv: ['riscv64-unknown-elf-addr2line', 'riscv64-linux-gnu-addr2line', 'riscv32-unknown-elf-addr2line'],
};
const PACKAGES: Record<string, string> = {
  arm: 'binutils-arm-none-eabi',
  aarch64: 'binutils-aarch64-linux-gnu',
  riscv: 'binutils-riscv64-unknown-elf',
};

/** Pcs per `addr2line` call, to stay below the command-line limit. */
const BATCH = 2000;

/** The `addr2line` for `machine` on PATH, or what is missing. */
export function findAddr2line(machine: string): { tool: string } | { missing: string } {
  const names = TOOLS[machine] ?? [];
  const tool = names.map((n) => findExecutable(n)).find((t) => t !== undefined);
  if (tool) return { tool };
  if (!names.length) return { missing: `no addr2line known for ELF machine '${machine}'` };
  return { missing: `none of ${names.join(', ')} is on PATH (Debian: apt install ${PACKAGES[machine]})` };
}

/** Looks up `pcs` in the line table of the ELF at `path` (machine as `ElfImage.machine` names it). */
export async function sourceLines(elf: { path: string; machine: string }, pcs: Iterable<number>): Promise<SourceLines> {
  const found = findAddr2line(elf.machine);
  const unique = [...new Set(pcs)].sort((a, b) => a - b);
  if ('missing' in found) return { missing: found.missing, locations: new Map() };
  const locations = new Map<number, SourceLocation>();
  for (let i = 0; i < unique.length; i += BATCH) {
    const batch = unique.slice(i, i + BATCH);
    const { stdout } = await run(found.tool, ['-f', '-C', '-e', elf.path, ...batch.map((pc) => `0x${pc.toString(16)}`)], {
      maxBuffer: 64 * 1024 * 1024,
    });
    // Two lines per address: the function, then file:line (with " (discriminator N)" at times).
    const lines = stdout.split('\n');
    batch.forEach((pc, n) => {
      const fn = lines[2 * n]?.trim() ?? '??';
      const where = (lines[2 * n + 1] ?? '??:0').replace(/ \(discriminator \d+\)$/, '').trim();
      locations.set(pc, { function: fn, line: where });
    });
  }
  return { tool: found.tool, locations };
}
