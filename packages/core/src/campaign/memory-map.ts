/**
 * The guest's memory map as QEMU flattens it (HMP `info mtree -f`), to reject a target outside
 * memory before a single fault runs: a write there would be dropped silently and every such fault
 * would look "masked".
 */
import { CampaignConfigError } from '../errors.js';

/** One contiguous range of the system address space. */
export interface MemoryRange {
  start: number;
  /** Exclusive. */
  end: number;
  kind: 'ram' | 'rom' | 'io';
  name: string;
}

/** What `info mtree` calls an MPC's view of the memory it guards (mps2-an505's SRAM is behind one). */
const MPC_WINDOW = 'tz-mpc-upstream';

/**
 * Parses the flat views of the system address space (`AS "memory"`) and of CPU 0's
 * (`AS "cpu-memory-0"`, what qtest reaches: on mps2-an505 the Secure aliases are only there) from
 * `info mtree -f`. Adjacent RAM or ROM ranges are merged, so a region QEMU shows in pieces checks
 * as one.
 */
export function parseFlatMemoryMap(text: string): MemoryRange[] {
  const views = text.split(/^FlatView #\d+\s*$/m).filter((v) => /^\s*AS "(memory|cpu-memory-0)"/m.test(v));
  const ranges: MemoryRange[] = [];
  for (const line of views.join('\n').split(/\r?\n/)) {
    const m = /^\s+([0-9a-f]+)-([0-9a-f]+) \(prio -?\d+, ([a-z/]+)\): (.*)$/.exec(line);
    if (!m) continue;
    // A TrustZone memory protection controller (ARMv8-M SSE boards) is an I/O window onto the RAM behind it.
    const kind = m[3] === 'ram' || m[4]!.trim() === MPC_WINDOW ? 'ram' : m[3]!.startsWith('rom') ? 'rom' : 'io';
    ranges.push({ start: Number.parseInt(m[1]!, 16), end: Number.parseInt(m[2]!, 16) + 1, kind, name: m[4]!.trim() });
  }
  ranges.sort((a, b) => a.start - b.start);
  const merged: MemoryRange[] = [];
  for (const range of ranges) {
    const last = merged.at(-1);
    if (last && last.start === range.start && last.end === range.end && last.kind === range.kind) continue; // in both views
    if (last && last.kind === range.kind && last.end === range.start && range.kind !== 'io') last.end = range.end;
    else merged.push({ ...range });
  }
  return merged;
}

/**
 * Checks that `[address, address + length)` lies in RAM or ROM (`allowIo`: or in a device's
 * registers). Throws a {@link CampaignConfigError} naming the region and listing the RAM.
 */
export function checkInMemory(map: readonly MemoryRange[], what: string, address: number, length: number, allowIo = false): void {
  const end = address + length;
  const ok = map.some((r) => (r.kind !== 'io' || allowIo) && address >= r.start && end <= r.end && !/^RESERVED|region @/.test(r.name));
  if (ok) return;
  const memory = map
    .filter((r) => r.kind !== 'io')
    .map((r) => `0x${r.start.toString(16)}-0x${(r.end - 1).toString(16)} ${r.name}`)
    .join(', ');
  throw new CampaignConfigError(
    `${what} (0x${address.toString(16)}..0x${(end - 1).toString(16)}) is outside the guest's memory${allowIo ? ' and devices' : ''}; RAM/ROM: ${memory}`,
  );
}
