// An instruction skip at a PC: `check_pin` compares the PIN and branches to "denied" at
// `auth_check_branch` (a 2-byte Thumb `bne.n`). Skipping that one instruction grants access
// with a wrong PIN: the kind of glitch attack the firmware must be hardened against.
import { expect, test } from '@qemu-fault/vitest';

test('skipping the branch in check_pin grants access with a wrong PIN', async ({ qemu }) => {
  const branch = qemu.symbol('auth_check_branch');
  await qemu.at(branch, async ({ registers, pc }) => {
    expect(pc).toBe(branch);
    await registers.set('pc', branch + 2); // the next instruction: the branch never executes
  });
  expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
  expect(qemu.serial.text).toContain('auth: GRANTED');
});

test('without the fault the wrong PIN is denied', async ({ qemu }) => {
  await qemu.run();
  expect(qemu.serial.text).toContain('auth: denied');
});

test('corrupting r0 at check_pin entry turns a wrong PIN into the right one', async ({ qemu }) => {
  await qemu.at('check_pin', ({ registers }) => registers.set('r0', 4711));
  await qemu.run();
  expect(qemu.serial.text).toContain('auth: GRANTED');
});
