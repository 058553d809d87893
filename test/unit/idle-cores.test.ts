// When the `qemu` fixture's default (`warm: 'auto'`) starts a spare: only with half a core idle.
import { describe, expect, test } from 'vitest';
import { type CpuTicks, IdleCores, machineTicks } from '../../packages/vitest-plugin/src/idle-cores.js';

/** A machine whose tick counters are whatever `at` holds when read. */
function machine(cores: number) {
  const at: CpuTicks = { idle: 0, total: 0 };
  const gauge = new IdleCores(() => ({ ...at }), cores);
  /** `ms` of wall time on every core, `idleCores` of them idle on average. */
  const pass = (ms: number, idleCores: number) => {
    at.total += (ms / 10) * cores;
    at.idle += (ms / 10) * idleCores;
  };
  return { gauge, pass };
}

describe('IdleCores', () => {
  test('says yes with half a core or more idle since the last answer, no with less', () => {
    const { gauge, pass } = machine(2);
    pass(100, 0.7); // one worker: its QEMUs and the spare keep 1.3 cores busy
    expect(gauge.spare()).toBe(true);
    pass(100, 0.2); // two workers on two cores
    expect(gauge.spare()).toBe(false);
    pass(100, 0.5);
    expect(gauge.spare()).toBe(true);
    pass(1000, 0); // other jobs' load
    expect(gauge.spare()).toBe(false);
  });

  test('keeps its last answer over a window shorter than 20 ms, and counts it into the next', () => {
    const { gauge, pass } = machine(2);
    pass(100, 0);
    expect(gauge.spare()).toBe(false);
    pass(10, 2);
    expect(gauge.spare()).toBe(false);
    pass(10, 2); // 20 ms since the last answer, all idle
    expect(gauge.spare()).toBe(true);
  });

  test('says yes where the machine cannot be read, and on the first call', () => {
    expect(new IdleCores(() => undefined, 2).spare()).toBe(true);
    expect(machine(4).gauge.spare()).toBe(true);
  });

  test("reads this machine's counters", () => {
    const ticks = machineTicks();
    expect(ticks!.total).toBeGreaterThan(0);
    expect(ticks!.idle).toBeLessThanOrEqual(ticks!.total);
  });
});
