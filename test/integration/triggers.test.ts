import { InvalidArgumentError, UnknownSymbolError } from '@qemu-fault/core';
import { describe, expect, it } from 'vitest';
import { withQemu } from '../support/with-qemu.js';

describe('at: PC triggers', () => {
  it('freezes just before the instruction, the hit-th time, with exact registers', () =>
    withQemu({}, async (qemu) => {
      await qemu.write(qemu.symbol('run_ticks'), 5, 4);
      const sensorRead = qemu.symbol('sensor_read');
      const seen: Array<{ pc: number; ticks: number; lr: number; instructions: bigint }> = [];
      for (const hit of [1, 3]) {
        await qemu.at(
          sensorRead,
          async (ctx) => {
            seen.push({
              pc: Number(await ctx.registers.get('pc')),
              ticks: await qemu.read(qemu.symbol('ticks'), 4),
              lr: await ctx.registers.get('lr'),
              instructions: ctx.instructions,
            });
          },
          { hit },
        );
      }
      expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
      expect(seen).toHaveLength(2);
      expect(seen.map((s) => s.pc)).toEqual([sensorRead, sensorRead]);
      // sensor_read runs once per tick: the 3rd call is two ticks after the 1st.
      expect(seen[1]!.ticks - seen[0]!.ticks).toBe(2);
      expect(seen[1]!.instructions).toBeGreaterThan(seen[0]!.instructions);
      expect(seen[0]!.lr & 1).toBe(1); // a Thumb return address: a real call, seen from inside
    }));

  it('can be cancelled before it fires', () =>
    withQemu({}, async (qemu) => {
      let fired = 0;
      const handle = await qemu.at('sensor_read', () => void fired++);
      await handle.cancel();
      await qemu.run();
      expect(fired).toBe(0);
      expect(handle.fired).toBe(0);
    }));

  it('rejects unknown symbols and bad hit counts, and holds as many triggers as asked', () =>
    withQemu({}, async (qemu) => {
      await expect(qemu.at('no_such_function', () => undefined)).rejects.toBeInstanceOf(UnknownSymbolError);
      await expect(qemu.at('sensor_read', () => undefined, { hit: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(qemu.at(-2, () => undefined)).rejects.toBeInstanceOf(InvalidArgumentError);
      // far more than the 64 slots of earlier plugins, all on one pc: they fire at their hits, in order
      const fired: number[] = [];
      const handles = [];
      for (let hit = 1; hit <= 300; hit++) handles.push(await qemu.at('sensor_read', () => void fired.push(hit), { hit }));
      await handles[0]!.cancel();
      await qemu.run();
      expect(fired).toEqual(Array.from({ length: 19 }, (_, i) => i + 2)); // sensor_read runs once per tick, 20 ticks
    }));
});

describe('onWrite / onRead / onAccess: data triggers', () => {
  it('fires after each write with the access, and stops when cancelled', () =>
    withQemu({}, async (qemu) => {
      const sensor = qemu.symbol('sensor_value');
      const values: number[] = [];
      const handle = await qemu.onWrite('sensor_value', 4, async ({ access }) => {
        values.push(await qemu.read(sensor, 4));
        expect(access?.pc).toBeGreaterThan(0);
        if (values.length === 4) await handle.cancel();
      });
      await qemu.run();
      expect(values).toHaveLength(4);
      // The first write is the startup code zeroing .bss; then one sensor reading per tick.
      expect(values[0]).toBe(0);
      for (const v of values.slice(1)) expect(v).toBeGreaterThanOrEqual(120);
      expect(handle.fired).toBe(4);
    }));

  it('sees reads and not writes with onRead, both with onAccess', () =>
    withQemu({}, async (qemu) => {
      await qemu.write(qemu.symbol('run_ticks'), 3, 4);
      const kinds = { read: [] as string[], access: [] as string[] };
      await qemu.onRead('sensor_value', 4, ({ access }) => void kinds.read.push(access!.kind));
      await qemu.onAccess('sensor_value', 4, ({ access }) => void kinds.access.push(access!.kind));
      await qemu.run();
      expect(kinds.read.length).toBeGreaterThan(0);
      expect(new Set(kinds.read)).toEqual(new Set(['read']));
      expect(new Set(kinds.access)).toEqual(new Set(['read', 'write']));
    }));

  it('rejects bad sizes and unknown symbols', () =>
    withQemu({}, async (qemu) => {
      await expect(qemu.onWrite('sensor_value', -1, () => undefined)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(qemu.onWrite('sensor_value', 0, () => undefined)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(qemu.onWrite('nope', 4, () => undefined)).rejects.toBeInstanceOf(UnknownSymbolError);
    }));
});

describe('registers', () => {
  it('are readable and writable while the guest is paused, and refused while it runs', () =>
    withQemu({}, async (qemu) => {
      const sp = await qemu.registers.get('sp');
      expect(sp).toBeGreaterThan(0x2000_0000);
      await qemu.registers.set('r7', 0x1234_5678);
      expect(await qemu.registers.get('r7')).toBe(0x1234_5678);
      await expect(qemu.registers.get('r16' as never)).rejects.toThrow(/unknown register "r16"/);
      await expect(qemu.registers.set('r0', -1)).rejects.toBeInstanceOf(InvalidArgumentError);
      await qemu.write(qemu.symbol('run_ticks'), 0, 4);
      await qemu.cont();
      await expect(qemu.registers.get('pc')).rejects.toThrow(/only while the guest is paused/);
    }));
});

describe('holding the guest at a freeze', () => {
  it('a callback ends the run where it froze; stopHeld() then makes it a stopped VM that runs on', () =>
    withQemu({}, async (qemu) => {
      const sensorRead = qemu.symbol('sensor_read');
      let heldAtNs = 0;
      await qemu.at(sensorRead, (ctx) => {
        heldAtNs = ctx.timeNs;
        ctx.hold();
      });
      expect(await qemu.run({ timeoutMs: 10_000 })).toEqual({ reason: 'held', timeNs: heldAtNs });
      expect(await qemu.status()).toEqual({ running: false, status: 'frozen' });
      // Held, not resumed: the guest is where the callback saw it, and can be read there.
      expect(await qemu.registers.get('pc')).toBe(sensorRead);
      await qemu.stopHeld();
      expect(await qemu.status()).toEqual({ running: false, status: 'paused' });
      // The rest of the block ran, and no further than that.
      expect(await qemu.now()).toBeGreaterThanOrEqual(heldAtNs);
      expect(await qemu.now()).toBeLessThan(heldAtNs + 1_000_000);
      expect(await qemu.run({ timeoutMs: 10_000 })).toMatchObject({ reason: 'exit', exitCode: 0 });
    }));

  it('only the run in progress ends: the next one serves triggers as usual', () =>
    withQemu({}, async (qemu) => {
      await qemu.notify(2_000_000, (ctx) => ctx.hold());
      let later = 0;
      await qemu.notify(4_000_000, () => void later++);
      expect((await qemu.run({ timeoutMs: 10_000 })).reason).toBe('held');
      expect(later).toBe(0);
      expect(await qemu.run({ forNs: 3_000_000, timeoutMs: 10_000 })).toMatchObject({ reason: 'time' });
      expect(later).toBe(1);
    }));
});
