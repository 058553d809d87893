/**
 * Machines with several CPUs: RISC-V virt -smp 2 running examples/firmware's `smp` (both harts
 * start at the ELF entry; hart 0 releases hart 1; they write shared_value in turn). Per-CPU
 * registers and counts, per-CPU triggers, and the same interleaving run after run.
 */
import { InvalidArgumentError, type LaunchedQemu, type LaunchOptions } from '@qemu-fault/core';
import { describe, expect, it } from 'vitest';
import { firmware } from '../support/firmware.js';
import { hasQemuTarget } from '../support/qemus.js';
import { withQemu } from '../support/with-qemu.js';

const BOARDS = [
  { board: 'riscv32-virt', target: 'riscv32', wide: false },
  { board: 'riscv64-virt', target: 'riscv64', wide: true },
] as const;

const REPEATS = 20;

describe.each(BOARDS.filter((b) => hasQemuTarget(b.target)))('$board -smp 2', ({ board, wide }) => {
  const options: LaunchOptions = { machine: 'virt', kernel: firmware(board, 'smp'), args: ['-bios', 'none', '-smp', '2'] };
  const value = (n: number) => (wide ? BigInt(n) : n);

  it('limits a PC trigger to one CPU; its callback sees that CPU’s registers, and any other’s with { cpu }', () =>
    withQemu(options, async (qemu) => {
      const seen: Array<Record<string, unknown>> = [];
      await qemu.at(
        'hart_work',
        async (ctx) => {
          seen.push({
            cpu: ctx.cpu,
            a0: await ctx.registers.get('a0'), // hart_work(hart)
            pc: await ctx.registers.get('pc'),
            otherPc: await ctx.registers.get('pc', { cpu: 0 }),
            viaFramework: await qemu.registers.get('a0', { cpu: 1 }),
          });
          const [total, cpu0, cpu1] = await Promise.all([
            qemu.instructions(),
            qemu.instructions({ cpu: 0 }),
            qemu.instructions({ cpu: 1 }),
          ]);
          expect(cpu0 + cpu1).toBe(total);
          expect(cpu1).toBeGreaterThan(0n);
        },
        { cpu: 1 },
      );
      expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
      const hartWork = value(qemu.symbol('hart_work'));
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ cpu: 1, a0: value(1), pc: hartWork, viaFramework: value(1) });
      expect(seen[0]!['otherPc']).not.toBe(hartWork); // hart 0 is elsewhere
      expect(qemu.serial.text).toContain('hart1_work: 0xd1858e15');
    }));

  it('limits data triggers to one CPU, and reads memory through either CPU’s view', () =>
    withQemu(options, async (qemu) => {
      const shared = qemu.symbol('shared_value');
      const byCpu1: number[] = [];
      const all: number[] = [];
      await qemu.onWrite(shared, 4, (ctx) => void byCpu1.push(ctx.cpu), { cpu: 1 });
      await qemu.onWrite(shared, 4, async (ctx) => {
        all.push(ctx.cpu);
        expect(await qemu.read(shared, 4, 1)).toBe(await qemu.read(shared, 4, 0));
      });
      expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
      // hart 0 clears .bss, then 8 writes in strict turns, hart 0 first
      expect(all).toEqual([0, 0, 1, 0, 1, 0, 1, 0, 1]);
      expect(byCpu1).toEqual([1, 1, 1, 1]);
    }));

  it('names CPUs by index or QOM path, and lists them for an unknown one', () =>
    withQemu(options, async (qemu) => {
      const cpus = await qemu.qmp.execute<Array<{ 'qom-path': string }>>('query-cpus-fast');
      await qemu.registers.set('a1', 7, { cpu: cpus[1]!['qom-path'] });
      expect(await qemu.registers.get('a1', { cpu: 1 })).toBe(value(7));
      expect(await qemu.registers.get('a1', { cpu: 0 })).not.toBe(value(7));
      await expect(qemu.registers.get('a1', { cpu: 2 })).rejects.toThrow(InvalidArgumentError);
      await expect(qemu.at('hart_work', () => undefined, { cpu: 5 })).rejects.toThrow(/no CPU with index 5; this machine has: 0 \(/);
    }));

  it(`gives the same interleaving, freezes and state ${REPEATS} runs out of ${REPEATS}`, async () => {
    const runOnce = () =>
      withQemu(options, async (qemu: LaunchedQemu) => {
        const log: string[] = [];
        await qemu.onWrite('shared_value', 4, async (ctx) => {
          log.push(`${ctx.cpu}@${ctx.instructions}:${ctx.pc.toString(16)} ${await qemu.instructions({ cpu: ctx.cpu })}`);
        });
        for (const cpu of [0, 1]) {
          await qemu.at(
            'hart_work',
            async (ctx) => void log.push(`work ${ctx.cpu}@${ctx.instructions} a0=${await ctx.registers.get('a0')}`),
            { cpu },
          );
        }
        // The exit's guest time is left out: whether QEMU still answers for it as it exits is a race.
        const { reason, exitCode } = await qemu.run();
        return { reason, exitCode, log, serial: qemu.serial.text };
      });
    const first = await runOnce();
    expect(first).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(first.log).toHaveLength(11);
    for (let i = 1; i < REPEATS; i++) expect(await runOnce()).toEqual(first);
  }, 180_000);
});
