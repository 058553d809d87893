// The pure parts of trace-driven campaigns: the IT state a skip leaves, hits counted from a
// snapshot, and how trace moments are grouped into clusters.
import { describe, expect, it } from 'vitest';
import type { ResolvedCampaign } from '../../packages/core/src/campaign/definition.js';
import type { Fault, ResolvedMoment } from '../../packages/core/src/campaign/enumerate.js';
import type { GoldenPass } from '../../packages/core/src/campaign/golden-pass.js';
import { BOOT, CLUSTER_SPAN, HitCounter, MAX_CLUSTERS, planMoments, startsAt } from '../../packages/core/src/campaign/plans.js';
import { verdictOf } from '../../packages/core/src/campaign/runner.js';
import { advanceIt, itState, outsideItBlock, withItState } from '../../packages/core/src/campaign/thumb.js';

const pc = (address: number, hit: number): ResolvedMoment => ({ key: `pc 0x${address.toString(16)}#${hit}`, kind: 'pc', pc: address, hit });

describe('the IT state of a skip', () => {
  it('reads and writes ITSTATE at xPSR bits 26:25 and 15:10', () => {
    expect(itState(0x61001800)).toBe(0x18); // `it ne` at its one instruction
    expect(withItState(0x61001800, 0)).toBe(0x61000000);
    expect(itState(withItState(0x21000000, 0xa5))).toBe(0xa5);
  });

  it('advances as ARMv7-M ITAdvance(): the mask shifts, and the block ends with its last instruction', () => {
    expect(advanceIt(0x18)).toBe(0); // IT with one instruction: done
    // ITTE EQ (firstcond 0000, mask 0110 -> then, else): 0x06 -> 0x0c -> 0x18 -> 0
    expect(advanceIt(0x06)).toBe(0x0c);
    expect(advanceIt(0x0c)).toBe(0x18);
    expect(advanceIt(0x18)).toBe(0);
    expect(advanceIt(0)).toBe(0);
  });

  it('is known to be none where the four instructions run before were straight-line code without an IT', () => {
    // verify_pin's loop: ldrb.w, ldrb.w, cmp, it ne, movne, cmp, bne
    const code = ['10f8', '12f8', '8c45', '18bf', '2346', '7045', 'f6d1'];
    const sizes = [4, 4, 2, 2, 2, 2, 2];
    let pc = 0x32e;
    const sequence = code.map((bytes, i) => {
      const at = pc;
      pc += sizes[i]!;
      return { pc: at, bytes: bytes.padEnd(sizes[i]! * 2, '0'), position: 100 + i };
    });
    expect(sequence.map((_, i) => outsideItBlock(sequence, i))).toEqual([false, false, false, false, false, false, false]);
    const straight = [...sequence.slice(0, 3), { pc: 0x338, bytes: '00bf', position: 103 }, { pc: 0x33a, bytes: '2346', position: 104 }];
    expect(outsideItBlock(straight, 4)).toBe(true); // a NOP is no IT
    expect(outsideItBlock([...straight.slice(0, 4), { ...straight[4]!, position: 200 }], 4)).toBe(false); // not run right after
  });
});

describe('trace moments', () => {
  const traced = [pc(0x100, 1), pc(0x102, 1), pc(0x100, 2), pc(0x102, 2), pc(0x100, 3)].map((moment, i) => ({
    moment,
    position: [10, 11, 20_000, 20_001, 40_000][i]!,
  }));
  const pass: GoldenPass = {
    evidence: { end: 'exit', exitCode: 0 },
    endNs: 50_000,
    ended: true,
    firstPosition: new Map(),
    momentNs: new Map(),
    traced: new Map([['t', traced]]),
  };
  const campaign = { definition: { budgetNs: undefined }, session: { launch: {} } } as unknown as ResolvedCampaign;

  it('count their hits from a snapshot: a hit less per execution before it', () => {
    const hits = new HitCounter(traced);
    const place = { ...BOOT, position: 15_000 };
    expect(hits.hitFrom(pc(0x100, 2), place, true)).toBe(1);
    expect(hits.hitFrom(pc(0x100, 3), place, true)).toBe(2);
    expect(hits.hitFrom(pc(0x100, 3), BOOT, true)).toBe(3);
    // Moments given by hand: their plans start before their first hit.
    expect(hits.hitFrom(pc(0x100, 3), place, false)).toBe(3);
  });

  it(`form clusters ${CLUSTER_SPAN} instructions long, each starting before its first moment`, () => {
    const plans = planMoments(
      campaign,
      traced.map((t) => t.moment),
      pass,
    );
    expect(plans.map((p) => p.moments.map((m) => m.key))).toEqual([
      ['pc 0x100#1', 'pc 0x102#1'],
      ['pc 0x100#2', 'pc 0x102#2'],
      ['pc 0x100#3'],
    ]);
    expect(plans.map((p) => p.before)).toEqual([{ position: 10 }, { position: 20_000 }, { position: 40_000 }]);
    expect(startsAt(plans[1]!, { ...BOOT, position: 19_999 })).toBe(true);
    expect(startsAt(plans[1]!, { ...BOOT, position: 20_000 })).toBe(false);
    // Without a budget every run ends where the golden pass did, plus as much again (at least 1 ms).
    expect(plans.every((p) => p.endNs === 50_000 + 1_000_000)).toBe(true);
  });

  it(`stay at most ${MAX_CLUSTERS} clusters however long the trace`, () => {
    const long = Array.from({ length: 1000 }, (_, i) => ({ moment: pc(0x100, i + 1), position: i * CLUSTER_SPAN }));
    const plans = planMoments(
      campaign,
      long.map((t) => t.moment),
      { ...pass, traced: new Map([['t', long]]) },
    );
    expect(plans.length).toBeLessThanOrEqual(MAX_CLUSTERS);
    expect(plans.flatMap((p) => p.moments)).toHaveLength(1000);
  });
});

describe('a fault whose moment never came', () => {
  it('is not-injected, never masked, though its evidence equals the golden run', () => {
    const evidence = { end: 'exit' as const, exitCode: 0, memory: { result: '01000000' } };
    const campaign = { definition: {} } as unknown as ResolvedCampaign;
    const golden = { type: 'golden' as const, moment: 'run', momentNs: 0, endNs: 10, evidence };
    const fault = { index: 0, id: 'f' } as unknown as Fault;
    expect(verdictOf(campaign, { evidence, reached: false }, golden, fault).outcome).toBe('not-injected');
    expect(verdictOf(campaign, { evidence, reached: true }, golden, fault).outcome).toBe('masked');
  });
});
