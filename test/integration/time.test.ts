import { InvalidArgumentError, type LaunchedQemu, launch, TriggerCallbackError } from '@qemu-fault/core';
import { describe, expect, it } from 'vitest';
import { firmware, GOLDEN_RESULT } from '../support/firmware.js';
import { qemuRelease } from '../support/qemus.js';
import { withQemu } from '../support/with-qemu.js';

/** mps2-an385's FPGA 100 Hz counter: the board's own view of the virtual clock. */
const CLK100HZ = 0x4002_8014;

/** Everything observable at one guest moment, for bit-for-bit comparisons. */
async function snapshot(qemu: LaunchedQemu, ctx: { timeNs: number; instructions: bigint; pc: number }) {
  return {
    timeNs: ctx.timeNs,
    instructions: ctx.instructions,
    pc: ctx.pc,
    ticks: await qemu.read(qemu.symbol('ticks'), 4),
    loopCounter: await qemu.read(qemu.symbol('loop_counter'), 4),
    sensor: await qemu.read(qemu.symbol('sensor_value'), 4),
    systick: await qemu.read(0xe000e018, 4),
  };
}

describe('notify: callbacks at an exact guest time', () => {
  it("fires at the guest time asked, as the board's own clocks see it", () =>
    withQemu({}, async (qemu) => {
      await qemu.write(qemu.symbol('run_ticks'), 0, 4);
      const seen: Array<{ ms: number; timeNs: number; clk100hz: number; ticks: number }> = [];
      for (const ms of [15, 25, 45]) {
        await qemu.notify(ms * 1_000_000, async (ctx) => {
          seen.push({
            ms,
            timeNs: ctx.timeNs,
            clk100hz: await qemu.readPhysical(CLK100HZ, 4),
            ticks: await qemu.read(qemu.symbol('ticks'), 4),
          });
        });
      }
      const result = await qemu.run({ forNs: 50_000_000, timeoutMs: 20_000 });
      expect(result.reason).toBe('time');
      // The guest idles in WFI between SysTick interrupts: a notification fires at its first
      // instruction at or after the time asked, i.e. at the next wake-up (within a SysTick period).
      for (const s of seen) {
        expect(s.timeNs).toBeGreaterThanOrEqual(s.ms * 1_000_000);
        expect(s.timeNs).toBeLessThan((s.ms + 2) * 1_000_000);
        // The FPGA's 100 Hz counter counts the same virtual clock: 10 ms per count.
        expect(s.clk100hz).toBe(Math.floor(s.timeNs / 10_000_000));
      }
      expect(seen.map((s) => s.ms)).toEqual([15, 25, 45]);
      expect(seen[2]!.ticks).toBeGreaterThan(seen[1]!.ticks);
    }));

  it('runs callbacks registered in any order, the same callback twice, and from inside a callback', () =>
    withQemu({}, async (qemu) => {
      const order: string[] = [];
      const twice = (ctx: { timeNs: number }) => void order.push(`twice@${ctx.timeNs}`);
      await qemu.notify(3_000_000, (ctx) => void order.push(`c@${ctx.timeNs}`));
      await qemu.notify(1_000_000, twice);
      await qemu.notify(2_000_000, async (ctx) => {
        order.push(`b@${ctx.timeNs}`);
        await qemu.notify(500_000, (inner) => void order.push(`nested@${inner.timeNs}`), { relative: true });
      });
      await qemu.notify(1_000_000, twice);
      await qemu.run({ forNs: 4_000_000, timeoutMs: 20_000 });
      expect(order.map((o) => o.split('@')[0])).toEqual(['twice', 'twice', 'b', 'nested', 'c']);
      const times = order.map((o) => Number(o.split('@')[1]));
      expect(times[0]).toBe(times[1]);
      expect(times).toEqual([...times].sort((x, y) => x - y));
      expect(await qemu.now()).toBeGreaterThanOrEqual(4_000_000);
    }));

  it('writes inside a callback are seen by the firmware: a time-based bit flip of the guard is detected', () =>
    withQemu({}, async (qemu) => {
      const guard = qemu.symbol('guard');
      await qemu.notify(5_000_000, async () => {
        const value = await qemu.read(guard, 4);
        await qemu.write(guard, (value ^ (1 << 7)) >>> 0, 4);
      });
      const result = await qemu.run({ timeoutMs: 20_000 });
      expect(result).toMatchObject({ reason: 'exit', exitCode: 2 });
      expect(qemu.serial.text).toContain('FAULT: guard corrupted');
      const write = qemu.trace.entries.find((e) => e.kind === 'write');
      expect(write?.timeNs).toBeGreaterThanOrEqual(5_000_000);
    }));

  it('rejects bad times and bad callbacks', () =>
    withQemu({}, async (qemu) => {
      for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, 1.5]) {
        await expect(qemu.notify(bad, () => undefined)).rejects.toBeInstanceOf(InvalidArgumentError);
      }
      await expect(qemu.notify(1000, 'nope' as never)).rejects.toThrow(/callback must be a function/);
      await qemu.run({ forNs: 2_000_000, timeoutMs: 20_000 });
      await expect(qemu.notify(1_000_000, () => undefined)).rejects.toThrow(
        /guest time 1000000 ns is in the past \(the guest is at \d+ ns\)/,
      );
    }));

  it('a callback that throws fails the run with its error and the guest time', () =>
    withQemu({}, async (qemu) => {
      await qemu.notify(3_000_000, () => {
        throw new Error('boom');
      });
      const err = await qemu.run({ timeoutMs: 20_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TriggerCallbackError);
      const timeNs = (err as TriggerCallbackError).timeNs;
      expect(timeNs).toBeGreaterThanOrEqual(3_000_000);
      expect((err as Error).message).toContain(`failed at guest time ${timeNs} ns: boom`);
      expect((await qemu.status()).status).toBe('frozen');
    }));

  it('a callback that never settles is bounded by callbackTimeoutMs', async () => {
    const qemu = await launch({ machine: 'mps2-an385', kernel: firmware(), callbackTimeoutMs: 200 });
    try {
      await qemu.notify(1_000_000, () => new Promise(() => undefined));
      await expect(qemu.run({ timeoutMs: 20_000 })).rejects.toThrow(/never settled/);
    } finally {
      await qemu.close();
    }
    expect(qemu.process.exitInfo).toBeDefined();
  });
});

describe('run', () => {
  it("ends with the guest's exit code", () =>
    withQemu({}, async (qemu) => {
      expect(await qemu.run({ timeoutMs: 20_000 })).toEqual({ reason: 'exit', timeNs: undefined, exitCode: 0 });
      expect(qemu.serial.text).toContain(GOLDEN_RESULT);
    }));

  it('stops on a serial pattern, and on its wall-clock safety net', () =>
    withQemu({}, async (qemu) => {
      await qemu.write(qemu.symbol('run_ticks'), 0, 4);
      const until = await qemu.run({ until: 'auth: denied', timeoutMs: 20_000 });
      expect(until.reason).toBe('until');
      expect(until.timeNs).toBeGreaterThan(0);
      const timeout = await qemu.run({ timeoutMs: 300 });
      expect(timeout.reason).toBe('timeout');
      expect((await qemu.status()).running).toBe(false);
    }));

  it('holds the guest at the end of a guest-time budget and goes on from there', () =>
    withQemu({}, async (qemu) => {
      await qemu.write(qemu.symbol('run_ticks'), 0, 4);
      const first = await qemu.run({ forNs: 7_000_000, timeoutMs: 20_000 });
      expect(first.reason).toBe('time');
      expect(first.timeNs! - 7_000_000).toBeLessThan(2_000_000);
      expect(await qemu.readPhysical(CLK100HZ, 4)).toBe(0);
      const second = await qemu.run({ forNs: 30_000_000, timeoutMs: 20_000 });
      expect(second.timeNs! - first.timeNs!).toBeGreaterThanOrEqual(30_000_000);
      expect(second.timeNs! - first.timeNs!).toBeLessThan(32_000_000);
      expect(await qemu.readPhysical(CLK100HZ, 4)).toBe(Math.floor(second.timeNs! / 10_000_000));
      await qemu.write(qemu.symbol('run_ticks'), 1, 4); // finish at the next tick
      expect(await qemu.run({ timeoutMs: 20_000 })).toMatchObject({ reason: 'exit', exitCode: 0 });
    }));
});

describe('determinism', () => {
  it('gives the same state bit for bit in two fresh QEMUs', async () => {
    const once = () =>
      withQemu({}, async (qemu) => {
        let state: Awaited<ReturnType<typeof snapshot>> | undefined;
        await qemu.notify(12_345_678, async (ctx) => {
          state = await snapshot(qemu, ctx);
        });
        await qemu.run({ timeoutMs: 20_000 });
        return state;
      });
    const [a, b] = [await once(), await once()];
    expect(a).toBeDefined();
    expect(a).toEqual(b);
    expect(a!.timeNs).toBeGreaterThanOrEqual(12_345_678);
  });
});

describe('guest time across QEMU versions', () => {
  it('the same instructions, at the SysTick period of the version: 2 ms on 7.2, 1 ms from 10.0 on', () =>
    withQemu({}, async (qemu) => {
      let exitAt: { timeNs: number; instructions: bigint } | undefined;
      await qemu.at('sh_exit', (ctx) => {
        exitAt = { timeNs: ctx.timeNs, instructions: ctx.instructions };
      });
      expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
      const [major] = qemuRelease();
      const tickMs = major < 8 ? 2 : 1; // QEMU 7.2's mps2 SysTick runs at half the programmed rate
      // 20 ticks (run_ticks), the exit a little after the last one
      expect(exitAt!.timeNs).toBeGreaterThanOrEqual(20 * tickMs * 1_000_000);
      expect(exitAt!.timeNs).toBeLessThan(21 * tickMs * 1_000_000);
      expect(qemu.serial.text).toContain(GOLDEN_RESULT);
    }));
});
