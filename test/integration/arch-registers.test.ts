/**
 * Registers, instruction skip and semihosting exits on every architecture of examples/firmware
 * (one board per family, test/support/boards.ts), on the project's QEMU.
 */
import { ARCHITECTURES, InvalidArgumentError } from '@qemu-fault/core';
import { describe, expect, it } from 'vitest';
import { boardLaunch, boardsOnThisQemu } from '../support/boards.js';
import { withQemu } from '../support/with-qemu.js';

const CORRECT_PIN = 4711;

describe.each(boardsOnThisQemu())('$board ($arch)', (board) => {
  const arch = ARCHITECTURES.find((a) => a.id === board.arch)!;
  const wide = arch.wordBits === 64;
  const asValue = (n: number) => (wide ? BigInt(n) : n);

  it('reads registers by the architecture names at a PC freeze, exactly, as number or bigint by width', () =>
    withQemu(boardLaunch(board), async (qemu) => {
      expect((await qemu.architecture()).id).toBe(board.arch);
      const sensorRead = qemu.symbol('sensor_read');
      const seen: Array<{ pc: unknown; viaAlias: unknown; names: string[]; cpu: number }> = [];
      await qemu.at(
        sensorRead,
        async (ctx) => {
          seen.push({
            pc: await ctx.registers.get('pc'),
            viaAlias: await ctx.registers.get(arch.registers.find((r) => r.aliases.length)!.aliases[0]!),
            names: Object.keys(await ctx.registers.all()),
            cpu: ctx.cpu,
          });
          const unknown = ctx.registers.get('nosuchreg');
          await expect(unknown).rejects.toBeInstanceOf(InvalidArgumentError);
          await expect(ctx.registers.get('nosuchreg')).rejects.toThrow(`this machine has: ${arch.registers[0]!.name}`);
        },
        { hit: 3 },
      );
      expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
      expect(seen).toEqual([{ pc: asValue(sensorRead), viaAlias: expect.anything(), names: arch.registers.map((r) => r.name), cpu: 0 }]);
    }));

  it('writes a register inside a callback: the right PIN as check_pin’s argument grants access', () =>
    withQemu(boardLaunch(board), async (qemu) => {
      let before: unknown;
      await qemu.at('check_pin', async ({ registers }) => {
        before = await registers.get(board.firstArgument);
        await registers.set(board.firstArgument, CORRECT_PIN);
        expect(await registers.get(board.firstArgument)).toBe(asValue(CORRECT_PIN));
      });
      expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
      expect(before).toBe(asValue(1234)); // auth_pin_entered's default
      expect(qemu.serial.text).toContain('auth: GRANTED');
    }));

  it('reads and writes registers while paused, full width, and refuses values that do not fit', () =>
    withQemu(boardLaunch(board), async (qemu) => {
      const big = wide ? 0x1234_5678_9abc_def0n : 0x1234_5678;
      await qemu.registers.set(board.firstArgument, big);
      expect(await qemu.registers.get(board.firstArgument)).toBe(big);
      await expect(qemu.registers.set(board.firstArgument, wide ? 2n ** 64n : 2 ** 32)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(qemu.registers.set(board.firstArgument, -1)).rejects.toBeInstanceOf(InvalidArgumentError);
    }));

  it('skips one instruction by its real size: the PIN check’s branch, and the whole run then grants', () =>
    withQemu(boardLaunch(board), async (qemu) => {
      const branch = qemu.symbol('auth_check_branch');
      const after: bigint[] = [];
      await qemu.at(branch, async () => void after.push(await qemu.skip()));
      expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
      const size = board.arch === 'arm-m' || board.arch.startsWith('riscv') ? 2 : 4; // bne.n / c.bnez; A32 bne, A64 b.ne
      expect(after).toEqual([BigInt(branch + size)]);
      expect(qemu.serial.text).toContain('auth: GRANTED');
    }));

  it.runIf(board.wideBranch)('skips a 4-byte branch by 4', () =>
    withQemu(boardLaunch(board), async (qemu) => {
      await qemu.write(qemu.symbol('auth_variant'), 1, 4);
      const branch = qemu.symbol('auth_check_branch_wide');
      const after: bigint[] = [];
      await qemu.at(branch, async () => void after.push(await qemu.skip()));
      expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
      expect(after).toEqual([BigInt(branch + 4)]);
      expect(qemu.serial.text).toContain('auth: GRANTED');
    }),
  );

  it('resolves the semihosting exit code: 0 for a normal run, 2 for a corrupted guard, 3 for a bad checksum', async () => {
    const runWith = (symbol: string | undefined) =>
      withQemu(boardLaunch(board), async (qemu) => {
        // .data is copied from flash at start-up: corrupt it once the application runs.
        if (symbol)
          await qemu.at('app_loop', async () => qemu.write(qemu.symbol(symbol), ((await qemu.read(qemu.symbol(symbol), 4)) ^ 1) >>> 0, 4));
        return qemu.run();
      });
    expect(await runWith(undefined)).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(await runWith('guard')).toMatchObject({ reason: 'exit', exitCode: 2 });
    expect(await runWith('config')).toMatchObject({ reason: 'exit', exitCode: 3 });
  });
});
