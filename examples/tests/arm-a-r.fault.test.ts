// 32-bit ARM A and R profiles in ARM state: a Cortex-A15 on virt (-kernel, GIC, generic timer,
// PL061) and the ZynqMP's Cortex-R5 on xlnx-zcu102 (CPU 4, booted through QEMU's generic loader
// and PSCI from the A53). r0-r15, sp, lr, pc and cpsr; the 4-byte A32 branch skipped; exits by
// `svc 0x123456`.
import { describe, expect, test } from '@qemu-fault/vitest';

describe('on virt, Cortex-A15', () => {
  test.override({ qemuOptions: { machine: 'virt', cpu: 'cortex-a15', kernel: 'firmware/build/arm-virt/faultdemo.elf' } });

  test('skipping the A32 bne in check_pin grants access with a wrong PIN', async ({ qemu }) => {
    const branch = qemu.symbol('auth_check_branch');
    await qemu.at(branch, async ({ registers }) => {
      expect((await registers.get('cpsr')) & 0x3f).toBe(0x13); // SVC mode, ARM state (T clear)
      expect(await qemu.skip()).toBe(BigInt(branch + 4));
    });
    await qemu.run();
    expect(qemu.serial.text).toContain('auth: GRANTED');
  });

  test('PL061 line 0 requests the safe state', async ({ qemu }) => {
    await qemu.setGpio('/machine/unattached/device[6]', null, 0, 1);
    expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 4 });
  });
});

describe('on xlnx-zcu102, Cortex-R5', () => {
  const R5 = 4;
  test.override({
    qemuOptions: {
      machine: 'xlnx-zcu102',
      qemu: `${process.env['QEMU_FAULT_QEMU_DIR'] ? `${process.env['QEMU_FAULT_QEMU_DIR']}/` : ''}qemu-system-aarch64`,
      kernel: 'firmware/build/xlnx-zcu102-r5/faultdemo.elf',
      // -kernel would start an A53: the generic loader only puts the image into memory.
      loadKernel: 'loader',
      // The DisplayPort's audio: QEMU 10 and 11 want -audio none, 7.2 -audiodev none,id=snd0
      // (this project's test matrix says which QEMU runs; on yours, keep the one that fits).
      args: [
        ...(process.env['QEMU_FAULT_QEMU_VERSION']?.startsWith('7.') ? ['-audiodev', 'none,id=snd0'] : ['-audio', 'none']),
        ...['-smp', '6', '-device', 'loader,addr=0x100,cpu-num=0'],
      ],
      readyTimeoutMs: 20_000,
    },
  });

  test('a guard corrupted from the R5’s view ends in exit 2', { timeout: 60_000 }, async ({ qemu }) => {
    expect((await qemu.architecture(R5)).id).toBe('arm-ar');
    const guard = qemu.symbol('guard');
    await qemu.at('app_loop', async (ctx) => {
      expect(ctx.cpu).toBe(R5);
      await qemu.write(guard, ((await qemu.read(guard, 4, R5)) ^ 1) >>> 0, 4, R5);
    });
    expect(await qemu.run({ timeoutMs: 50_000 })).toMatchObject({ reason: 'exit', exitCode: 2 });
  });
});
