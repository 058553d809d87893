// What a silent corruption looks like. `calib_offset` is not guarded: a flipped bit changes the
// result the firmware reports, and nothing notices. This test asserts that the result is right
// anyway, so it fails; `test.fails` marks that as expected. Remove `.fails` to read the report
// a real undetected fault produces: serial output, injection trace and guest time included.
import { expect, test } from '@qemu-fault/vitest';

test.fails('a bit flip in an unguarded variable goes unnoticed (fails by design)', async ({ qemu }) => {
  const calib = qemu.symbol('calib_offset');
  await qemu.notify(5_000_000, async () => {
    await qemu.write(calib, (await qemu.read(calib, 4)) ^ 0x10, 4);
  });
  const result = await qemu.run();
  expect(result.exitCode, 'the firmware did not notice anything').toBe(0);
  expect(qemu.serial.text).toContain('result: 0x8d6a7738'); // the golden result: not what we get
});
