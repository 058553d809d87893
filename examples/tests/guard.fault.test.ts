// A guarded variable: the firmware keeps `guard` and its complement `guard_inv` and checks them
// every tick. A single bit flip in either must be detected and lead to the safe state (exit 2).
import { describe, expect, test } from '@qemu-fault/vitest';

describe('guarded word', () => {
  for (const bit of [0, 13, 31]) {
    test(`a flip of bit ${bit} at 5 ms is detected`, async ({ qemu }) => {
      const guard = qemu.symbol('guard');
      await qemu.notify(5_000_000, async () => {
        await qemu.write(guard, ((await qemu.read(guard, 4)) ^ (1 << bit)) >>> 0, 4);
      });
      const result = await qemu.run();
      expect(result).toMatchObject({ reason: 'exit', exitCode: 2 });
      expect(qemu.serial.text).toContain('FAULT: guard corrupted');
    });
  }

  test('a corrupted config table fails its checksum (exit 3)', async ({ qemu }) => {
    await qemu.notify(3_000_000, () => qemu.write(qemu.symbol('config') + 8, 999, 4));
    expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 3 });
    expect(qemu.serial.text).toContain('FAULT: config checksum');
  });
});
