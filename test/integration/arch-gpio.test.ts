/**
 * setGpio() validates against the lines QEMU really accepts, on every board of the examples:
 * whatever path and line a user names, QEMU stays alive (qtest's set_irq_in aborts it on a line
 * the device does not have, including on sifive_e's GPIO block, whose lines its SoC took over).
 */
import { InvalidArgumentError, type LaunchOptions } from '@qemu-fault/core';
import { describe, expect, it } from 'vitest';
import { type BoardUnderTest, boardLaunch, boardsOnThisQemu } from '../support/boards.js';
import { firmware } from '../support/firmware.js';
import { withQemu } from '../support/with-qemu.js';

interface GpioCase {
  board: string;
  launch: LaunchOptions;
  gpio: BoardUnderTest['gpio'];
}

/** lm3s6965evb's ports move between QEMU versions: framework.test.ts finds and checks them. */
const M3_BOARDS: GpioCase[] = [{ board: 'mps2-an385', launch: { machine: 'mps2-an385', kernel: firmware('mps2-an385') }, gpio: undefined }];

const ALL: GpioCase[] = [...M3_BOARDS, ...boardsOnThisQemu().map((b) => ({ board: b.board, launch: boardLaunch(b), gpio: b.gpio }))];

describe.each(ALL)('$board', ({ launch, gpio }) => {
  it('refuses lines QEMU would die of, stays alive, and still drives the real one', () =>
    withQemu(launch, async (qemu) => {
      const attempts: Array<[string, string | null, number]> = [
        ['/machine', null, 0],
        ['/machine/no-such-device', null, 0],
        ['/machine/peripheral-anon', null, 0],
      ];
      if (gpio) {
        attempts.push([gpio.path, null, gpio.lines], [gpio.path, 'no-such-group', 0], [gpio.path, null, 1_000_000]);
        attempts.push([`${gpio.path}/unnamed-gpio-in[0]`, null, 0]);
        if (gpio.handedOverBy) attempts.push([gpio.handedOverBy, null, gpio.line]);
      }
      for (const [path, group, line] of attempts) {
        await expect(qemu.setGpio(path, group, line, 1), `${path} ${group} ${line}`).rejects.toBeInstanceOf(InvalidArgumentError);
        expect(await qemu.status()).toMatchObject({ status: 'prelaunch' });
      }
      if (!gpio) return;
      if (gpio.handedOverBy)
        await expect(qemu.setGpio(gpio.handedOverBy, null, gpio.line, 1)).rejects.toThrow(`use setGpio('${gpio.path}'`);
      await qemu.setGpio(gpio.path, null, gpio.line, 1);
      expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 4 });
    }));
});
