// The baseline: the core's launch→close cycle by hand, in the same kind of test.
import { launch } from '@qemu-fault/core';
import { expect, test } from 'vitest';
import { COUNT, KERNEL } from './tests.js';

for (let i = 0; i < COUNT; i++) {
  test(`launch ${i}`, async () => {
    const qemu = await launch({ machine: 'mps2-an385', kernel: KERNEL });
    expect(qemu.process.pid).toBeGreaterThan(0);
    await qemu.close();
  });
}
