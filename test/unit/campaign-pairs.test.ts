// Enumerating double faults: every first × every second at the same or a later moment within the
// window (decided up front between time moments), ids naming both, bad windows refused.
import { InvalidArgumentError } from '@qemu-fault/core';
import {
  atPc,
  atTime,
  bitFlip,
  CampaignConfigError,
  enumerateFaults,
  faultSpace,
  instruction,
  pairs,
  skip,
  symbol,
} from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';

const lookup = (name: string) => ({ guard: { address: 0x2000_0008, size: 4 }, verify_pin: { address: 0x340, size: 0xac } })[name]!;

describe('pairs()', () => {
  it('combines each first fault with the second faults at the same or a later time within the window', () => {
    const flips = (ns: number[]) => ({ targets: [symbol('guard')], models: [bitFlip({ bits: [0] })], moments: ns.map(atTime) });
    const faults = enumerateFaults(faultSpace(pairs(flips([1000, 2000]), flips([1000, 1500, 2500, 9000]), { withinNs: 1000 })), lookup);
    expect(faults.map((f) => f.id)).toEqual([
      'guard flip bit 0 @ 0.001ms, then guard flip bit 0 @ 0.001ms',
      'guard flip bit 0 @ 0.001ms, then guard flip bit 0 @ 0.0015ms',
      'guard flip bit 0 @ 0.002ms, then guard flip bit 0 @ 0.0025ms',
    ]);
    expect(faults.map((f) => f.index)).toEqual([0, 1, 2]);
    expect(faults[1]).toMatchObject({
      moment: { key: '0.001ms' },
      actionLabel: 'flip bit 0, then guard flip bit 0 @ 0.0015ms',
      second: { id: 'guard flip bit 0 @ 0.0015ms', moment: { kind: 'time', ns: 1500 }, withinNs: 1000 },
    });
  });

  it('lists every pair of PC moments (their times are known only in the run), after the single faults', () => {
    const skips = (offsets: number[]) => ({ targets: [instruction()], models: [skip()], moments: offsets.map((o) => atPc(0x340 + o)) });
    const faults = enumerateFaults(faultSpace(skips([0]), pairs(skips([0x44, 0x48]), skips([0x64]))), lookup);
    expect(faults.map((f) => [f.index, f.id])).toEqual([
      [0, 'insn skip 1 @ pc 0x340#1'],
      [1, 'insn skip 1 @ pc 0x384#1, then insn skip 1 @ pc 0x3a4#1'],
      [2, 'insn skip 1 @ pc 0x388#1, then insn skip 1 @ pc 0x3a4#1'],
    ]);
    expect(faults[1]!.second).not.toHaveProperty('withinNs');
  });

  it('refuses a bad window and an empty product', () => {
    const part = { targets: [symbol('guard')], models: [bitFlip()], moments: [atTime(1000)] };
    expect(() => pairs(part, part, { withinNs: -1 })).toThrow(InvalidArgumentError);
    expect(() => pairs(part, part, { withinNs: 1.5 })).toThrow(/withinNs must be a non-negative integer/);
    const later = { ...part, moments: [atTime(500)] };
    expect(() => enumerateFaults([pairs(part, later)], lookup)).toThrow(CampaignConfigError);
    expect(() => enumerateFaults([pairs(part, later)], lookup)).toThrow(/empty \(pairs\(1 targets × 1 models × 1 moments/);
  });
});
