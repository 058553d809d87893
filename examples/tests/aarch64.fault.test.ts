// AArch64 (qemu-system-aarch64 -M virt -cpu cortex-a53, the firmware at EL1): x0-x30, sp, pc as
// bigint and cpsr as a number, the 4-byte b.ne of check_pin skipped, a data watchpoint, the PL061
// GPIO input, and a fault campaign whose runs start from snapshots.
import { runCampaign } from '@qemu-fault/core/campaign';
import { describe, expect, test } from '@qemu-fault/vitest';
import pinSkips from '../campaigns/aarch64-pin.campaign.js';

describe('on virt, Cortex-A53', () => {
  test.override({ qemuOptions: { machine: 'virt', cpu: 'cortex-a53', kernel: 'firmware/build/aarch64-virt/faultdemo.elf' } });

  test('skipping the branch in check_pin grants access with a wrong PIN', async ({ qemu }) => {
    const branch = qemu.symbol('auth_check_branch');
    await qemu.at(branch, async ({ registers }) => {
      expect(await registers.get('pc')).toBe(BigInt(branch));
      expect(await qemu.skip()).toBe(BigInt(branch + 4));
    });
    await qemu.run();
    expect(qemu.serial.text).toContain('auth: GRANTED');
  });

  test('x0 holds check_pin’s argument; cpsr says EL1h', async ({ qemu }) => {
    await qemu.at('check_pin', async ({ registers }) => {
      expect(await registers.get('x0')).toBe(1234n);
      expect((await registers.get('cpsr')) & 0xf).toBe(0b0101); // EL1, SP_EL1
      await registers.set('x0', 4711n);
    });
    await qemu.run();
    expect(qemu.serial.text).toContain('auth: GRANTED');
  });

  test('an out-of-range sensor value written after the 3rd reading ends in exit 5', async ({ qemu }) => {
    let writes = 0;
    await qemu.onWrite('sensor_value', 4, async () => {
      if (++writes === 4) await qemu.write(qemu.symbol('sensor_value'), 1000, 4); // the .bss clearing, then 3 readings
    });
    expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 5 });
  });

  test('PL061 line 0 requests the safe state', async ({ qemu }) => {
    // With this command line the PL061 is /machine/unattached/device[6] (type pl061).
    expect(await qemu.getQomProperty('/machine/unattached/device[6]', 'type')).toBe('pl061');
    await qemu.notify(2_000_000, () => qemu.setGpio('/machine/unattached/device[6]', null, 0, 1));
    expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 4 });
  });
});

test('every skipped instruction of check_pin, as a campaign from snapshots', { timeout: 120_000 }, async () => {
  const result = await runCampaign(pinSkips, { workers: 2 });
  // Three single skips grant access with the wrong PIN, unnoticed by the firmware: the cmp (the
  // flags left equal by earlier code), the b.ne itself, and the "denied" path's mov w0, #0
  // (check_pin then returns the nonzero difference).
  const pc = (offset: number) => `pc 0x${(pinSkips.branch + offset).toString(16)}#1`;
  const silent = result.select({ outcome: 'silent' });
  expect(silent.map((r) => r.moment)).toEqual([pc(-4), pc(0), pc(0xc)]);
  for (const r of silent) expect(r.reason).toMatch(/^auth_granted = 0x00000001/);
});
