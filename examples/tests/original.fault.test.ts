// The two examples of the original Python framework, ported.
import { expect, test } from '@qemu-fault/vitest';

test('the empty scenario: the firmware runs to its end undisturbed', async ({ qemu }) => {
  const result = await qemu.run();
  expect(result).toMatchObject({ reason: 'exit', exitCode: 0 });
  expect(qemu.serial.text).toContain('result: 0x8d6a7738');
});

test('a callback at a guest time writes 0xDEADBEEF and reads it back', async ({ qemu }) => {
  const scratch = qemu.symbol('scratch'); // a word the firmware never touches
  let readBack: number | undefined;
  await qemu.notify(1_000_000, async () => {
    await qemu.write(scratch, 0xdeadbeef, 4);
    readBack = await qemu.read(scratch, 4);
  });
  await qemu.run();
  expect(readBack).toBe(0xdeadbeef);
});
