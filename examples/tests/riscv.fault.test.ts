// RISC-V, 32 and 64 bit (qemu-system-riscv32/64): registers by their ABI names (`a0`, `sp`, `ra`;
// `x10` works too), 64-bit registers as bigint, the 2-byte compressed branch of check_pin skipped,
// the semihosting exit sequence (slli/ebreak/srai) giving the exit code, sifive_e's GPIO input,
// and a 2-hart virt with a trigger limited to one hart.
import { describe, expect, test } from '@qemu-fault/vitest';

describe('on virt, RV32 (-bios none: the firmware runs in M-mode from 0x80000000)', () => {
  test.override({ qemuOptions: { machine: 'virt', args: ['-bios', 'none'], kernel: 'firmware/build/riscv32-virt/faultdemo.elf' } });

  test('skipping the c.bnez in check_pin grants access with a wrong PIN', async ({ qemu }) => {
    const branch = qemu.symbol('auth_check_branch');
    await qemu.at(branch, async () => {
      expect(await qemu.skip()).toBe(BigInt(branch + 2)); // a compressed instruction: 2 bytes
    });
    expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(qemu.serial.text).toContain('auth: GRANTED');
  });

  test('a0 holds check_pin’s argument: the right PIN there grants access', async ({ qemu }) => {
    await qemu.at('check_pin', async ({ registers }) => {
      expect(await registers.get('a0')).toBe(1234);
      await registers.set('x10', 4711); // the same register by its number
    });
    await qemu.run();
    expect(qemu.serial.text).toContain('auth: GRANTED');
  });

  test('a corrupted guard ends in the firmware’s exit code 2', async ({ qemu }) => {
    const guard = qemu.symbol('guard');
    await qemu.at('app_loop', async () => qemu.write(guard, ((await qemu.read(guard, 4)) ^ 0x10) >>> 0, 4));
    expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 2 });
  });
});

describe('on virt, RV64', () => {
  test.override({ qemuOptions: { machine: 'virt', args: ['-bios', 'none'], kernel: 'firmware/build/riscv64-virt/faultdemo.elf' } });

  test('64-bit registers read as bigint', async ({ qemu }) => {
    await qemu.at('sensor_read', async ({ registers }) => {
      expect(await registers.get('pc')).toBe(BigInt(qemu.symbol('sensor_read')));
      expect(typeof (await registers.get('sp'))).toBe('bigint');
    });
    expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
  });
});

describe('on sifive_e', () => {
  test.override({ qemuOptions: { machine: 'sifive_e', kernel: 'firmware/build/sifive_e/faultdemo.elf' } });

  test('GPIO 0 requests the safe state (driven through the SoC, which owns the GPIO block’s lines)', async ({ qemu }) => {
    await qemu.notify(3_000_000, () => qemu.setGpio('/machine/soc', null, 0, 1));
    expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 4 });
    // The GPIO block's own path lists the lines but QEMU would abort on them: refused.
  });
});

describe('on virt with two harts (-smp 2)', () => {
  test.override({ qemuOptions: { machine: 'virt', args: ['-bios', 'none', '-smp', '2'], kernel: 'firmware/build/riscv32-virt/smp.elf' } });

  test('a PC trigger for hart 1 only, with hart 1’s registers', async ({ qemu }) => {
    const seen: Array<{ cpu: number; hart: unknown }> = [];
    await qemu.at('hart_work', async (ctx) => void seen.push({ cpu: ctx.cpu, hart: await ctx.registers.get('a0') }), { cpu: 1 });
    expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(seen).toEqual([{ cpu: 1, hart: 1 }]);
  });
});
