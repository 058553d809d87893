// A watchpoint-triggered corruption: right after the firmware writes `sensor_value` (once per
// tick), overwrite it with an out-of-range reading. The range check must catch it (exit 5).
import { expect, test } from '@qemu-fault/vitest';

test('a sensor value corrupted right after it is written is caught by the range check', async ({ qemu }) => {
  const sensor = qemu.symbol('sensor_value');
  let writes = 0;
  await qemu.onWrite(sensor, 4, async ({ access }) => {
    expect(access).toMatchObject({ kind: 'write', address: sensor, size: 4 });
    if (++writes === 3) await qemu.write(sensor, 1000, 4); // the third reading goes bad
  });
  expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 5 });
  expect(writes).toBe(3);
  expect(qemu.serial.text).toContain('FAULT: sensor out of range');
});
