// Double faults on the duplicated PIN check of the example firmware (`pin_dup`): every single skip
// of an instruction verify_pin runs is masked, detected, a crash or a hang — none silent — while
// pairs of skips, one in each comparison loop, grant access. A pair whose second moment never
// comes is the single fault it starts with.

import { formatFaultTrace, reproduceFault, runCampaign } from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';
import pinDupPairs from '../../examples/campaigns/pin-dup-pairs.campaign.js';

describe('double faults (pairs)', () => {
  it('get past a duplicated check that every single fault leaves standing', { timeout: 120_000 }, async () => {
    const result = await runCampaign(pinDupPairs, { workers: 2 });
    const singles = result.records.filter((r) => !r.fault.second);
    const doubles = result.records.filter((r) => r.fault.second);
    expect(singles.length).toBeGreaterThanOrEqual(80);
    expect(doubles).toHaveLength(16 * 17);
    expect(singles.filter((r) => r.outcome === 'silent')).toEqual([]);
    expect(singles.filter((r) => r.outcome === 'detected').length).toBeGreaterThan(10);

    const granted = doubles.filter((r) => r.outcome === 'silent');
    expect(granted.length).toBeGreaterThan(0);
    for (const r of granted) {
      expect(r.secondInjected).toBe(true);
      expect(r.evidence.exitCode).toBe(9);
      expect(r.evidence.serial).toContain('pin: GRANTED');
    }
    // Records name both faults: the README's pair (the last digit's mismatch recording, skipped in both loops).
    const both = result.select({ outcome: 'silent' }).find((r) => r.id === 'insn skip 1 @ pc 0x384#8, then insn skip 1 @ pc 0x3a4#8');
    expect(both).toMatchObject({ target: 'insn', moment: 'pc 0x384#8', action: 'skip 1, then insn skip 1 @ pc 0x3a4#8' });
    expect(both!.fault.second).toMatchObject({ id: 'insn skip 1 @ pc 0x3a4#8', moment: { kind: 'pc', pc: 0x3a4, hit: 8 } });

    // Without its second fault a pair is its first fault alone, outcome and evidence.
    const byId = new Map(singles.map((r) => [r.id, r]));
    const unreached = doubles.filter((r) => r.secondInjected === false);
    expect(unreached.length).toBeGreaterThan(0);
    for (const r of unreached) {
      const single = byId.get(r.id.split(', then ')[0]!)!;
      expect([r.outcome, r.evidence]).toEqual([single.outcome, single.evidence]);
    }

    // From fresh boots, the same records.
    const some = new Set([both!.index, unreached[0]!.index, granted.at(-1)!.index]);
    const fresh = await runCampaign(pinDupPairs, { workers: 2, reuse: 'fresh', only: (f) => some.has(f.index) });
    expect(fresh.records).toEqual(result.records.filter((r) => some.has(r.index)));

    // Reproduced alone, a pair says both were injected, and ends as its record.
    const { trace } = await reproduceFault(pinDupPairs, both!.id);
    expect(trace.secondInjected).toBe(true);
    expect(trace.verdict).toEqual({ outcome: both!.outcome, reason: both!.reason });
    expect(formatFaultTrace(trace)).toContain('second:   insn skip 1 @ pc 0x3a4#8: injected');
  });
});
