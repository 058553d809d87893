// The baseline: the core's launch→close cycle by hand, in the same kind of test, with the built
// core, as the fixture's side loads it.

import { expect, test } from 'vitest';
import { launch } from '../../packages/core/dist/index.js';
import { COUNT, KERNEL } from './tests.js';

for (let i = 0; i < COUNT; i++) {
  test(`launch ${i}`, async () => {
    const qemu = await launch({ machine: 'mps2-an385', kernel: KERNEL });
    expect(qemu.process.pid).toBeGreaterThan(0);
    await qemu.close();
  });
}
