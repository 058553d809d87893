import {
  CampaignAssertionError,
  CampaignResult,
  defaultClassifier,
  type Evidence,
  type FaultRecord,
  formatProgress,
  type Outcome,
} from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';
import { checkInMemory, parseFlatMemoryMap } from '../../packages/core/src/campaign/memory-map.js';
import { formatMemory, toVerdict } from '../../packages/core/src/campaign/outcome.js';

const golden: Evidence = { end: 'exit', exitCode: 0, serial: 'result: 0x8d6a7738\ndone\n', memory: { result: '38776a8d' } };

describe('the default classifier', () => {
  const classify = defaultClassifier({
    detect: { exitCodes: [2], serial: ['SAFE STATE'], at: ['fault_detected'], memory: [{ at: 0x40010000, equals: 1 }] },
    crash: { exitCodes: [6], at: ['HardFault_Handler'] },
  });
  const cases: Array<[string, Evidence, Outcome, RegExp]> = [
    ['the same result', { ...golden }, 'masked', /same result/],
    ['a detection exit code', { end: 'exit', exitCode: 2, serial: 'FAULT\n' }, 'detected', /exit code 2/],
    ['a detection message', { ...golden, serial: 'SAFE STATE: guard\n' }, 'detected', /serial "SAFE STATE"/],
    ['a detection handler reached', { end: 'trap', trap: 'fault_detected' }, 'detected', /reached fault_detected/],
    [
      'a signal in memory (a GPIO)',
      { ...golden, memory: { ...golden.memory, 'signal:0x40010000': '01000000' } },
      'detected',
      /0x40010000 = 0x1/,
    ],
    ['the fault handler', { end: 'trap', trap: 'HardFault_Handler' }, 'crash', /HardFault_Handler/],
    ['its exit code', { end: 'exit', exitCode: 6 }, 'crash', /exit code 6/],
    ['QEMU dying', { end: 'qemu-died', error: 'SIGABRT: Lockup' }, 'crash', /QEMU died: SIGABRT/],
    ['no exit within the budget', { end: 'budget', timeNs: 9 }, 'hang', /still running/],
    ['the wall-clock limit', { end: 'timeout' }, 'hang', /wall-clock/],
    [
      'another result, unnoticed',
      { ...golden, memory: { result: '00000000' }, serial: 'result: 0x0\ndone\n' },
      'silent',
      /result = 0x00000000 \(golden 0x8d6a7738\)/,
    ],
    ['another exit code', { ...golden, exitCode: 1 }, 'silent', /exit code 1 \(golden 0\)/],
    ['other output', { ...golden, serial: 'result: 0x8d6a7738\nextra\n' }, 'silent', /serial line 2/],
  ];
  for (const [what, run, outcome, reason] of cases) {
    it(`${what} → ${outcome}`, () => {
      const verdict = classify(run, golden);
      expect(verdict.outcome).toBe(outcome);
      expect(verdict.reason).toMatch(reason);
    });
  }

  it('compares budget-ended runs by their memory, without calling them hangs', () => {
    const atEnd: Evidence = { end: 'budget', timeNs: 7, memory: { result: '01000000' } };
    expect(defaultClassifier()(atEnd, { ...atEnd }).outcome).toBe('masked');
    expect(defaultClassifier()({ ...atEnd, memory: { result: '02000000' } }, atEnd)).toEqual({
      outcome: 'silent',
      reason: 'result = 0x00000002 (golden 0x00000001)',
    });
  });

  it('accepts what a custom classifier returns, and nothing else', () => {
    expect(toVerdict('hang')).toEqual({ outcome: 'hang', reason: 'classifier' });
    expect(toVerdict({ outcome: 'detected', reason: 'watchdog' })).toEqual({ outcome: 'detected', reason: 'watchdog' });
    for (const bad of ['boom', undefined, { outcome: 'fine' }, 3])
      expect(() => toVerdict(bad)).toThrow(/must return one of silent, hang, crash, detected, masked/);
  });

  it('shows memory as little-endian values, and long regions shortened', () => {
    expect(formatMemory('38776a8d')).toBe('0x8d6a7738');
    expect(formatMemory('00'.repeat(32))).toBe('0000000000000000… (32 bytes)');
  });
});

function record(index: number, target: string, outcome: Outcome): FaultRecord {
  return {
    type: 'fault',
    index,
    id: `${target} flip bit ${index} @ 5ms`,
    target,
    action: `flip bit ${index}`,
    moment: '5ms',
    fault: {
      target: { label: target, kind: 'memory', address: 0, length: 4 },
      action: { kind: 'bit-flip', bit: index },
      moment: { key: '5ms', kind: 'time', ns: 5 },
    },
    outcome,
    reason: `${outcome} because`,
    evidence: { end: 'budget' },
  };
}

describe('campaign results', () => {
  const result = new CampaignResult(
    'unit',
    6,
    [],
    [
      record(4, 'calib', 'silent'),
      record(0, 'guard', 'detected'),
      record(1, 'guard', 'detected'),
      record(2, 'calib', 'masked'),
      record(3, 'calib', 'hang'),
      record(5, 'guard', 'crash'),
    ],
  );

  it('sorts records, counts outcomes and filters', () => {
    expect(result.records.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(result.complete).toBe(true);
    expect(result.counts()).toEqual({ silent: 1, hang: 1, crash: 1, detected: 2, masked: 1, 'not-injected': 0 });
    expect(result.counts({ target: 'guard' })).toMatchObject({ detected: 2, crash: 1, silent: 0 });
    expect(result.select({ target: /^ca/, outcome: ['hang', 'masked'] }).map((r) => r.index)).toEqual([2, 3]);
  });

  it('names the worst faults first', () => {
    expect(result.worst(3).map((r) => [r.outcome, r.index])).toEqual([
      ['silent', 4],
      ['hang', 3],
      ['crash', 5],
    ]);
    expect(result.summary()).toMatch(/#4 SILENT calib flip bit 4 @ 5ms: silent because/);
  });

  it('asserts: passes where no fault is silent, fails with a readable message where one is', () => {
    expect(() => result.assertNoSilent({ target: 'guard' })).not.toThrow();
    let error: unknown;
    try {
      result.assertNoSilent();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CampaignAssertionError);
    const message = (error as Error).message;
    expect(message).toMatch(/^1 of 6 faults in campaign 'unit' were silent:/);
    expect(message).toContain('#4 SILENT calib flip bit 4 @ 5ms: silent because');
    expect(message).toMatch(/target +silent +hang +crash +detected +masked +not-injected +total/);
    expect(() => result.assertNo(['hang', 'crash'], { target: 'calib' })).toThrow(
      /1 of 3 faults \(target "calib"\) in campaign 'unit' were hang or crash/,
    );
  });

  it('formats progress with a bar, rate, ETA and counts', () => {
    const line = formatProgress(
      {
        done: 250,
        total: 1000,
        resumed: 0,
        ratePerSec: 412.5,
        etaMs: 1_818,
        counts: { silent: 1, hang: 0, crash: 2, detected: 200, masked: 47, 'not-injected': 0 },
      },
      10,
    );
    expect(line).toBe('[###-------] 250/1000  25%  412.5/s  ETA 0:02  silent 1 hang 0 crash 2 detected 200 masked 47');
  });
});

describe('memory map and code', () => {
  const tree = [
    'FlatView #0',
    ' AS "I/O", root: io',
    '  0000000000000000-000000000000ffff (prio 0, i/o): io',
    'FlatView #1',
    ' AS "memory", root: system',
    '  0000000000000000-00000000003fffff (prio 0, ram): mps.ssram1',
    '  0000000000400000-00000000007fffff (prio 0, ram): mps.ssram1',
    '  0000000000800000-0000000000ffffff (prio -1000, i/o): RESERVED 1',
    '  0000000040004000-0000000040004fff (prio 0, i/o): uart',
  ].join('\r\n');

  it('finds the system address space and merges pieces of one region', () => {
    expect(parseFlatMemoryMap(tree)).toEqual([
      { start: 0, end: 0x80_0000, kind: 'ram', name: 'mps.ssram1' },
      { start: 0x80_0000, end: 0x100_0000, kind: 'io', name: 'RESERVED 1' },
      { start: 0x4000_4000, end: 0x4000_5000, kind: 'io', name: 'uart' },
    ]);
  });

  it('accepts targets in RAM across QEMU’s pieces, and rejects targets outside memory by name', () => {
    const map = parseFlatMemoryMap(tree);
    expect(() => checkInMemory(map, 'target x', 0x3f_fffe, 4)).not.toThrow();
    expect(() => checkInMemory(map, 'target y', 0x90_0000, 4)).toThrow(
      /target y \(0x900000..0x900003\) is outside the guest's memory; RAM\/ROM: 0x0-0x7fffff mps.ssram1/,
    );
    expect(() => checkInMemory(map, 'target z', 0x4000_4000, 4)).toThrow(/outside/);
    expect(() => checkInMemory(map, 'region z', 0x4000_4000, 4, true)).not.toThrow();
  });
});
