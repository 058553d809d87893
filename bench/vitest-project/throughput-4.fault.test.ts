// A file of a small suite: each test runs the firmware to its end on its own QEMU.
// The built package, as a user's suite imports it: Node loads it, Vitest's main process serves nothing.
import { expect, test } from '../../packages/vitest-plugin/dist/index.js';

for (let i = 0; i < 20; i++) {
  test(`run ${i}`, async ({ qemu }) => {
    expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
  });
}
