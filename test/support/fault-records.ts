import type { FaultRecord, Outcome } from '@qemu-fault/core/campaign';

/** A record of flipping bit `bit` of `guard` at 5 ms, as fault `index`; `extra` replaces fields. */
export function guardFlipRecord(index: number, bit: number, outcome: Outcome, extra: Partial<FaultRecord> = {}): FaultRecord {
  return {
    type: 'fault',
    index,
    id: `guard flip bit ${bit} @ 5ms`,
    target: 'guard',
    action: `flip bit ${bit}`,
    moment: '5ms',
    fault: {
      target: { label: 'guard', kind: 'memory', address: 8, length: 4 },
      action: { kind: 'bit-flip', bit },
      moment: { key: '5ms', kind: 'time', ns: 5_000_000 },
    },
    outcome,
    reason: `${outcome} because`,
    evidence: { end: 'budget' },
    ...extra,
  };
}
