// A guest exit racing a resume: a stand-in QEMU (test/support/held-cont) holds back the reply to
// `cont` until the guest has exited, as a loaded machine sometimes does. The exit must be the
// run's result, not an error of the `cont` that resumed it.
import { launch, QemuExitedError } from '@qemu-fault/core';
import { atTime, faultSpace, overwrite, runCampaign, symbol } from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';
import { exampleCampaign, expectNothingLeft } from '../support/campaigns.js';
import { firmware, GOLDEN_RESULT } from '../support/firmware.js';
import { heldContQemu } from '../support/held-cont/held-cont.js';

describe('a guest that exits while cont is in flight', () => {
  for (const hmp of [false, true]) {
    it(`ends run() with the exit (cont through ${hmp ? 'the human monitor' : 'QMP'})`, async () => {
      const qemu = await launch({ machine: 'mps2-an385', kernel: firmware(), qemu: await heldContQemu(), channels: { hmp } });
      try {
        // A callback on the way, as in the report: it settles, the guest resumes and exits while
        // `cont` still waits for its reply.
        // Read once before: the first read asks QMP which commands it has, and QMP is busy with `cont`
        // in the callback (a command there would free the held reply).
        expect(await qemu.readPhysical(qemu.symbol('guard'), 4)).toBe(0); // set up by the firmware
        let checked = 0;
        await qemu.at(
          'check_integrity',
          async () => {
            checked = await qemu.readPhysical(qemu.symbol('guard'), 4);
          },
          { hit: 3 },
        );
        expect(await qemu.run({ timeoutMs: 60_000 })).toEqual({ reason: 'exit', timeNs: undefined, exitCode: 0 });
        expect(checked).not.toBe(0);
        expect(qemu.serial.text).toContain(GOLDEN_RESULT);
        // A command that needs QEMU alive says it is gone, with the exit code.
        const error = await qemu.status().catch((err: unknown) => err);
        expect(error).toBeInstanceOf(QemuExitedError);
        expect(error).toMatchObject({ exitCode: 0 });
      } finally {
        await qemu.close();
      }
      expect(qemu.process.exitInfo).toEqual({ exitCode: 0, signal: undefined });
    });
  }
});

describe("a callback whose command QEMU's end cuts short", () => {
  it('ends run() with the exit; the command itself fails with QemuExitedError', async () => {
    const qemu = await launch({ machine: 'mps2-an385', kernel: firmware() });
    try {
      let failed: (err: unknown) => void = () => undefined;
      const failure = new Promise<unknown>((resolve) => (failed = resolve));
      await qemu.at('check_integrity', async () => {
        // QEMU ends while the callback still needs it (here: killed; a reset under onReset: 'exit' alike).
        process.kill(qemu.process.pid!, 'SIGKILL');
        const err = await qemu.readPhysical(qemu.symbol('guard'), 4).catch((e: unknown) => e);
        failed(err);
        throw err;
      });
      expect(await qemu.run({ timeoutMs: 60_000 })).toEqual({ reason: 'exit', timeNs: undefined, exitCode: undefined, signal: 'SIGKILL' });
      expect(await failure).toBeInstanceOf(QemuExitedError);
      await expect(qemu.run()).rejects.toBeInstanceOf(QemuExitedError);
    } finally {
      await qemu.close();
    }
  });
});

describe('a campaign worker whose guest exits while cont is in flight', () => {
  it('records the exit as the outcome, the same as without the race', { timeout: 300_000 }, async () => {
    // A starved watchdog resets the board, which ends QEMU under onReset: 'exit' (the firmware's
    // semihosting exits are caught before they end it): the run's end is QEMU's exit.
    const space = faultSpace({
      targets: [symbol('wdt_feed_enabled'), symbol('guard')],
      models: [overwrite(0)],
      moments: [atTime(5_000_000)],
    });
    const example = exampleCampaign({ space, budgetNs: 40_000_000 });
    const base = { ...example, launch: { ...example.launch, onReset: 'exit' as const } };
    const raced = { ...base, launch: { ...base.launch, qemu: await heldContQemu() } };
    const [plain, held] = [await runCampaign(base, { workers: 1 }), await runCampaign(raced, { workers: 1 })];
    expect(held.complete).toBe(true);
    expect(held.records.map((r) => r.evidence.end)).toContain('exit');
    expect(held.records).toEqual(plain.records);
    expect(held.golden).toEqual(plain.golden);
    await expectNothingLeft(base);
  });
});
