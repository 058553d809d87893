// A GPIO input driving the firmware into its safe state, on the board whose GPIO ports have
// inputs (the Stellaris lm3s6965evb: PL061 ports; PA0 requests the safe state).
import { describe, expect, test } from '@qemu-fault/vitest';

describe('on lm3s6965evb', () => {
  test.override({ qemuOptions: { machine: 'lm3s6965evb', kernel: 'firmware/build/lm3s6965evb/faultdemo.elf' } });

  test('raising PA0 at 4 ms puts the firmware in its safe state', async ({ qemu }) => {
    // Port A is the first PL061 device QEMU creates; find it instead of hard-coding its QOM path.
    const children = await qemu.qmp.execute<Array<{ name: string; type: string }>>('qom-list', { path: '/machine/unattached' });
    const portA = children
      .filter((c) => c.type === 'child<pl061_luminary>')
      .map((c) => `/machine/unattached/${c.name}`)
      .sort((a, b) => Number(/\d+/.exec(a)) - Number(/\d+/.exec(b)))[0]!;

    await qemu.notify(4_000_000, () => qemu.setGpio(portA, null, 0, 1));
    const result = await qemu.run();
    expect(result).toMatchObject({ reason: 'exit', exitCode: 4 });
    expect(qemu.serial.text).toContain('GPIO: safe state requested');
  });
});
