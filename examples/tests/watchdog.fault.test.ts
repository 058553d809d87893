// Watchdog and reset recovery: with `fault_action` = 1 the firmware resets itself on a detected
// fault, and a starved watchdog resets the board. Either way it must come back and finish.
import { expect, test } from '@qemu-fault/vitest';

test('a detected fault resets the board and the firmware recovers', async ({ qemu }) => {
  await qemu.write(qemu.symbol('fault_action'), 1, 4); // a parameter: set before the first instruction
  await qemu.notify(5_000_000, () => qemu.write(qemu.symbol('guard_inv'), 0, 4));
  const result = await qemu.run();
  expect(result).toMatchObject({ reason: 'exit', exitCode: 0 });
  expect(qemu.serial.text).toMatch(/RESET: guard[\s\S]*boot_count: 2[\s\S]*reset cause: guard[\s\S]*recovered[\s\S]*done/);
});

test('a watchdog that is no longer fed resets the board', async ({ qemu }) => {
  await qemu.notify(3_000_000, () => qemu.write(qemu.symbol('wdt_feed_enabled'), 0, 4));
  const result = await qemu.run();
  expect(result).toMatchObject({ reason: 'exit', exitCode: 0 });
  expect(qemu.serial.text).toMatch(/WDT: timeout[\s\S]*reset cause: watchdog[\s\S]*recovered/);
});
