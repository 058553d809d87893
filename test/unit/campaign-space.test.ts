import { InvalidArgumentError, UnknownSymbolError } from '@qemu-fault/core';
import {
  atPc,
  atTime,
  bitFlip,
  CampaignConfigError,
  enumerateFaults,
  everyNs,
  faultSpace,
  instruction,
  memory,
  onAccess,
  overwrite,
  parseShard,
  registers,
  type SymbolLookup,
  shardRange,
  skip,
  stuckAt,
  symbol,
} from '@qemu-fault/core/campaign';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { registerBitsOf } from '../../packages/core/src/campaign/register-bits.js';

const SYMBOLS: Record<string, { address: number; size: number }> = {
  guard: { address: 0x2000_0008, size: 4 },
  config: { address: 0x2000_0010, size: 32 },
  flag: { address: 0x2000_0040, size: 1 },
  sized0: { address: 0x2000_0050, size: 0 },
  check_pin: { address: 0x630, size: 16 },
};
const lookup: SymbolLookup = (name) => {
  const s = SYMBOLS[name];
  if (!s) throw new UnknownSymbolError(name, 'fake.elf');
  return s;
};

describe('fault space enumeration', () => {
  it("flips every bit of a register as wide as the ELF's architecture has it, and refuses a name it lacks", () => {
    const flips = (machine: string, bits: 32 | 64, name: string) =>
      enumerateFaults(
        faultSpace({ targets: registers(name as never), models: [bitFlip()], moments: [atTime(1)] }),
        lookup,
        undefined,
        registerBitsOf({ machine, bits }),
      );
    expect(flips('aarch64', 64, 'x5').map((f) => f.action)).toEqual(Array.from({ length: 64 }, (_, bit) => ({ kind: 'bit-flip', bit })));
    expect(flips('riscv', 64, 'a0')).toHaveLength(64);
    expect(flips('riscv', 32, 'a0')).toHaveLength(32);
    // 32-bit ARM: whichever profile names it (xpsr is M-profile's, cpsr A/R's).
    expect(flips('arm', 32, 'xpsr')).toHaveLength(32);
    expect(flips('arm', 32, 'cpsr')).toHaveLength(32);
    expect(() => flips('riscv', 64, 'xpsr')).toThrow(InvalidArgumentError);
    expect(() => flips('riscv', 64, 'xpsr')).toThrow(/a0/);
  });

  it('expands a bit flip over every bit of a symbol, in a fixed order with stable ids', () => {
    const faults = enumerateFaults(faultSpace({ targets: [symbol('guard')], models: [bitFlip()], moments: [atTime(5_000_000)] }), lookup);
    expect(faults).toHaveLength(32);
    expect(faults.map((f) => f.index)).toEqual([...Array(32).keys()]);
    expect(faults[0]).toMatchObject({
      id: 'guard flip bit 0 @ 5ms',
      target: { kind: 'memory', address: 0x2000_0008, length: 4 },
      action: { kind: 'bit-flip', bit: 0 },
    });
    expect(faults[31]!.id).toBe('guard flip bit 31 @ 5ms');
  });

  it('is deterministic: the same space gives the same list', () => {
    const space = faultSpace(
      {
        targets: [symbol('guard'), symbol('config'), ...registers('r0', 'sp')],
        models: [bitFlip({ bits: [0, 7] }), stuckAt(1, { bits: [3] })],
        moments: everyNs(1_000_000, 3_000_000, 1_000_000),
      },
      { targets: [instruction()], models: [skip()], moments: [atPc('check_pin', 2)] },
    );
    expect(enumerateFaults(space, lookup)).toEqual(enumerateFaults(structuredClone(space), lookup));
  });

  it('orders part, moment, target, model, parameter', () => {
    const faults = enumerateFaults(
      faultSpace({
        targets: [symbol('flag'), ...registers('r1')],
        models: [bitFlip({ bits: [0, 1] })],
        moments: [atTime(2_000), atTime(1_000)],
      }),
      lookup,
    );
    expect(faults.map((f) => f.id)).toEqual([
      'flag flip bit 0 @ 0.002ms',
      'flag flip bit 1 @ 0.002ms',
      'r1 flip bit 0 @ 0.002ms',
      'r1 flip bit 1 @ 0.002ms',
      'flag flip bit 0 @ 0.001ms',
      'flag flip bit 1 @ 0.001ms',
      'r1 flip bit 0 @ 0.001ms',
      'r1 flip bit 1 @ 0.001ms',
    ]);
  });

  it('applies each model only to the targets it fits', () => {
    const faults = enumerateFaults(
      faultSpace({
        targets: [symbol('guard'), instruction(), ...registers('pc')],
        models: [skip(2), overwrite([0, 0xff], { size: 2 })],
        moments: [atPc(0x630)],
      }),
      lookup,
    );
    // skip: the instruction only; overwrite/2 bytes: two slots of guard × two values; none for pc (4-byte registers).
    expect(faults.map((f) => f.id)).toEqual([
      'guard write 0x0/2@+0 @ pc 0x630#1',
      'guard write 0xff/2@+0 @ pc 0x630#1',
      'guard write 0x0/2@+2 @ pc 0x630#1',
      'guard write 0xff/2@+2 @ pc 0x630#1',
      'insn skip 2 @ pc 0x630#1',
    ]);
  });

  it('resolves symbols, slices, sizeless symbols, addresses and data moments', () => {
    const faults = enumerateFaults(
      faultSpace({
        targets: [symbol('config', { offset: 8, length: 4 }), symbol('sized0'), memory(0x2000_1000, 2, 'buf')],
        models: [stuckAt(0, { bits: [9], durationNs: 1000 })],
        moments: [onAccess('guard', { hit: 3 })],
      }),
      lookup,
    );
    expect(faults.map((f) => f.id)).toEqual([
      'config[8..12) stuck-at-0 bit 9 for 0.001ms @ write guard#3',
      'sized0 stuck-at-0 bit 9 for 0.001ms @ write guard#3',
      'buf stuck-at-0 bit 9 for 0.001ms @ write guard#3',
    ]);
    expect(faults[0]!.target).toMatchObject({ address: 0x2000_0018, length: 4 });
    expect(faults[0]!.moment).toEqual({ key: 'write guard#3', kind: 'access', address: 0x2000_0008, length: 4, access: 'write', hit: 3 });
    expect(faults[0]!.action).toMatchObject({ kind: 'stuck-at', value: 0, bit: 9, durationNs: 1000, periodNs: 50_000 });
  });

  it('refuses an empty space, models that fit nothing, repeated faults and bits outside the target', () => {
    expect(() => enumerateFaults([], lookup)).toThrow(CampaignConfigError);
    expect(() => enumerateFaults({ targets: [], models: [bitFlip()], moments: [atTime(1)] }, lookup)).toThrow(/fault space is empty/);
    expect(() => enumerateFaults({ targets: [symbol('guard')], models: [skip()], moments: [atTime(1)] }, lookup)).toThrow(
      /no model applies/,
    );
    expect(() =>
      enumerateFaults({ targets: [symbol('guard'), symbol('guard')], models: [bitFlip({ bits: [1] })], moments: [atTime(1)] }, lookup),
    ).toThrow(/listed twice/);
    expect(() => enumerateFaults({ targets: [symbol('flag')], models: [bitFlip({ bits: [8] })], moments: [atTime(1)] }, lookup)).toThrow(
      /bit 8 is outside target flag \(8 bits\)/,
    );
    expect(() => enumerateFaults({ targets: [symbol('nope')], models: [bitFlip()], moments: [atTime(1)] }, lookup)).toThrow(
      UnknownSymbolError,
    );
  });

  it('rejects malformed parts with the offending piece named', () => {
    expect(() => faultSpace({ targets: [memory(-1, 4)], models: [bitFlip()], moments: [atTime(1)] })).toThrow(/memory target .*address/);
    expect(() => faultSpace({ targets: [symbol('guard')], models: [bitFlip()], moments: [atTime(0)] })).toThrow(/positive integer/);
    expect(() => faultSpace({ targets: [symbol('guard')], models: [{ kind: 'melt' } as never], moments: [atTime(1)] })).toThrow(
      InvalidArgumentError,
    );
    expect(() => faultSpace({ targets: [symbol('guard')], models: [overwrite(0x1_0000, { size: 2 })], moments: [atTime(1)] })).toThrow(
      /does not fit in 2 bytes/,
    );
    expect(() => faultSpace({ targets: registers('r99' as never), models: [bitFlip()], moments: [atTime(1)] })).toThrow(/unknown register/);
    expect(() => everyNs(0, 10, 0)).toThrow(InvalidArgumentError);
  });
});

describe('sharding', () => {
  it('covers every index exactly once, in contiguous ranges balanced to within one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 64 }), (total, count) => {
        const ranges = Array.from({ length: count }, (_, index) => shardRange(total, { index, count }));
        expect(ranges[0]!.start).toBe(0);
        expect(ranges.at(-1)!.end).toBe(total);
        for (let i = 1; i < count; i++) expect(ranges[i]!.start).toBe(ranges[i - 1]!.end);
        const sizes = ranges.map((r) => r.end - r.start);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('parses CI-style 1-based shard specs and rejects bad ones', () => {
    expect(parseShard('1/4')).toEqual({ index: 0, count: 4 });
    expect(parseShard(' 4/4 ')).toEqual({ index: 3, count: 4 });
    for (const bad of ['0/4', '5/4', '1/0', 'a/b', '2']) expect(() => parseShard(bad)).toThrow(InvalidArgumentError);
    expect(() => shardRange(10, { index: 2, count: 2 })).toThrow(InvalidArgumentError);
  });
});
