/**
 * Memory (CPU view, physical, MMIO), QOM, GPIO and triggers (guest time, PC with a hit count, data
 * watchpoint) on every architecture of examples/firmware (test/support/boards.ts).
 */
import { describe, expect, it } from 'vitest';
import { boardLaunch, boardsOnThisQemu } from '../support/boards.js';
import { qemuRelease } from '../support/qemus.js';
import { withQemu } from '../support/with-qemu.js';

/** `result` after 3 ticks instead of 20 (the firmware README's table). */
const RESULT_AFTER_3_TICKS = 'result: 0x0002826a';

describe.each(boardsOnThisQemu())('$board ($arch)', (board) => {
  it('reads and writes memory from CPU 0’s view and physically, and reads a device register', () =>
    withQemu(boardLaunch(board), async (qemu) => {
      const runTicks = qemu.symbol('run_ticks');
      expect(await qemu.read(runTicks, 4)).toBe(20);
      expect(await qemu.readPhysical(BigInt(runTicks), 4)).toBe(20);
      await qemu.write(BigInt(runTicks), 3, 4, 0);
      expect(await qemu.readPhysical(runTicks, 4)).toBe(3);
      expect(await qemu.readPhysical(board.mmio.address, board.mmio.size)).toBe(board.mmio.value);
      expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
      expect(qemu.serial.text).toContain(RESULT_AFTER_3_TICKS);
    }));

  it('reads QOM properties of the machine’s CPU', () =>
    withQemu(boardLaunch(board), async (qemu) => {
      const [cpu] = await qemu.qmp.execute<Array<{ 'qom-path': string }>>('query-cpus-fast');
      expect(await qemu.getQomProperty(cpu!['qom-path'], 'type')).toBe(board.cpuType);
    }));

  it.runIf(board.gpio)('drives the safe-state GPIO input: exit 4', () =>
    withQemu(boardLaunch(board), async (qemu) => {
      await qemu.setGpio(board.gpio!.path, null, board.gpio!.line, 1);
      expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 4 });
      expect(qemu.serial.text).toContain('SAFE STATE: gpio');
    }),
  );

  it('notifies at a guest time, with the guest frozen there', () =>
    withQemu(boardLaunch(board), async (qemu) => {
      const seen: Array<{ timeNs: number; ticks: number }> = [];
      await qemu.notify(5_500_000, async ({ timeNs }) => void seen.push({ timeNs, ticks: await qemu.read(qemu.symbol('ticks'), 4) }));
      expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
      const slow = board.slowTickOn72 && qemuRelease()[0] < 8;
      expect(seen).toHaveLength(1);
      expect(seen[0]!.timeNs).toBeGreaterThanOrEqual(5_500_000);
      // The guest sleeps in WFI between ticks: it freezes at its first instruction on waking, at the next tick.
      expect(seen[0]!.timeNs).toBeLessThan(slow ? 8_100_000 : 6_100_000);
      expect(seen[0]!.ticks).toBe(slow ? 3 : 5);
    }));

  it('freezes at a PC the hit-th time', () =>
    withQemu(boardLaunch(board), async (qemu) => {
      const ticks: number[] = [];
      for (const hit of [1, 3])
        await qemu.at('sensor_read', async () => void ticks.push(await qemu.read(qemu.symbol('ticks'), 4)), { hit });
      expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
      expect(ticks).toHaveLength(2);
      expect(ticks[1]! - ticks[0]!).toBe(2); // one sensor_read per tick
    }));

  it('fires a data watchpoint after each write; a value forced at the 3rd reading ends in exit 5', () =>
    withQemu(boardLaunch(board), async (qemu) => {
      const sensor = qemu.symbol('sensor_value');
      const values: number[] = [];
      await qemu.onWrite(BigInt(sensor), 4, async ({ access }) => {
        values.push(await qemu.read(sensor, 4));
        expect(access?.kind).toBe('write');
        // the .bss clearing first, then one reading per tick
        if (values.length === 4) await qemu.write(sensor, 1000, 4);
      });
      expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 5 });
      expect(values).toHaveLength(4);
      expect(values[0]).toBe(0);
      for (const v of values.slice(1)) expect(v).toBeGreaterThanOrEqual(120);
      expect(qemu.serial.text).toContain('FAULT: sensor out of range');
    }));
});
