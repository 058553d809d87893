// ARMv8-M: a Cortex-M33 (mps2-an505, Secure state) next to the Cortex-M3 boards: the same
// registers (xpsr), a 2-byte and a 4-byte Thumb-2 branch skipped by their real sizes.
import { describe, expect, test } from '@qemu-fault/vitest';

describe('on mps2-an505', () => {
  test.override({ qemuOptions: { machine: 'mps2-an505', kernel: 'firmware/build/mps2-an505/faultdemo.elf' } });

  test('skipping the 2-byte bne.n in check_pin grants access', async ({ qemu }) => {
    const branch = qemu.symbol('auth_check_branch');
    await qemu.at(branch, async ({ registers }) => {
      expect((await registers.get('xpsr')) & (1 << 24)).not.toBe(0); // Thumb, always on M profile
      expect(await qemu.skip()).toBe(BigInt(branch + 2));
    });
    await qemu.run();
    expect(qemu.serial.text).toContain('auth: GRANTED');
  });

  test('skipping the 4-byte bne.w in check_pin_wide grants access', async ({ qemu }) => {
    await qemu.write(qemu.symbol('auth_variant'), 1, 4); // authenticate() calls check_pin_wide
    const branch = qemu.symbol('auth_check_branch_wide');
    await qemu.at(branch, async () => void expect(await qemu.skip()).toBe(BigInt(branch + 4)));
    await qemu.run();
    expect(qemu.serial.text).toContain('auth: GRANTED');
  });
});
