// A file of a small suite: each test runs the firmware to its end on its own QEMU.
import { expect, test } from '../../packages/vitest-plugin/src/index.js';

for (let i = 0; i < 20; i++) {
  test(`run ${i}`, async ({ qemu }) => {
    expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
  });
}
