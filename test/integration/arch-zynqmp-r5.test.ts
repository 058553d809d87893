/**
 * The ZynqMP's Cortex-R5 (xlnx-zcu102, CPU 4): a 32-bit ARM core inside qemu-system-aarch64,
 * booted through QEMU's generic loader (`launch({ loadKernel: 'loader' })`) and PSCI from the A53
 * (examples/firmware/README.md, "xlnx-zcu102-r5"). What works, and what is refused instead of
 * answered wrong.
 */
import { type LaunchOptions, UnsupportedError } from '@qemu-fault/core';
import { describe, expect, it } from 'vitest';
import { firmware } from '../support/firmware.js';
import { hasQemuTarget, qemuBinary, qemuRelease } from '../support/qemus.js';
import { withQemu } from '../support/with-qemu.js';

const R5 = 4;

function r5Launch(): LaunchOptions {
  // 7.2 has no `-audio none`; 10 and 11 need one (the DisplayPort's audio).
  const audio = qemuRelease()[0] < 8 ? ['-audiodev', 'none,id=snd0'] : ['-audio', 'none'];
  return {
    machine: 'xlnx-zcu102',
    qemu: qemuBinary('aarch64'),
    kernel: firmware('xlnx-zcu102-r5'),
    loadKernel: 'loader',
    // the A53 stub at 0x100 starts the R5 (PSCI CPU_ON) and powers itself off
    args: [...audio, '-smp', '6', '-device', 'loader,addr=0x100,cpu-num=0'],
    readyTimeoutMs: 20_000,
  };
}

describe.runIf(hasQemuTarget('aarch64'))('xlnx-zcu102 Cortex-R5 through the generic loader', () => {
  it('runs to its semihosting exit, freezes on the R5, and reads its registers the A/R way (QEMU 10 on)', { timeout: 60_000 }, () =>
    withQemu(r5Launch(), async (qemu) => {
      expect((await qemu.architecture(R5)).id).toBe('arm-ar');
      expect((await qemu.architecture(0)).id).toBe('aarch64');
      const sensorRead = qemu.symbol('sensor_read');
      const seen: unknown[] = [];
      await qemu.at(
        sensorRead,
        async (ctx) => {
          seen.push(ctx.cpu);
          if (qemuRelease()[0] < 10) {
            await expect(ctx.registers.get('pc')).rejects.toThrow(UnsupportedError);
          } else {
            seen.push(await ctx.registers.get('pc'), await ctx.registers.get('r0'));
            await expect(ctx.registers.set('pc', sensorRead + 4)).rejects.toThrow(UnsupportedError);
          }
        },
        { hit: 2, cpu: R5 },
      );
      expect(await qemu.run({ timeoutMs: 50_000 })).toMatchObject({ reason: 'exit', exitCode: 0 });
      expect(seen.slice(0, qemuRelease()[0] < 10 ? 1 : 2)).toEqual(qemuRelease()[0] < 10 ? [R5] : [R5, sensorRead]);
      expect(qemu.serial.text).toContain('boot: xlnx-zcu102-r5 faultdemo');
      expect(qemu.serial.text).toContain('result: 0x8d6a7738');
    }),
  );

  it('gives the firmware’s exit code: a guard corrupted from the R5’s view exits 2', { timeout: 60_000 }, () =>
    withQemu(r5Launch(), async (qemu) => {
      const guard = qemu.symbol('guard');
      await qemu.at('app_loop', async () => qemu.write(guard, ((await qemu.read(guard, 4, R5)) ^ 1) >>> 0, 4, R5), { cpu: R5 });
      expect(await qemu.run({ timeoutMs: 50_000 })).toMatchObject({ reason: 'exit', exitCode: 2 });
      expect(qemu.serial.text).toContain('FAULT: guard corrupted');
    }),
  );
});
