// Faults during a test, on real QEMU: each must end in an error (or a run result) that names what
// happened, within a bounded time. What real QEMU cannot be made to do (a socket closing half-way
// through a message, a peer sending garbage) is in test/unit/faults.test.ts with fake peers.

import { type LaunchedQemu, QemuExitedError, TriggerCallbackError } from '@qemu-fault/core';
import { describe, expect, it } from 'vitest';
import { withQemu } from '../support/with-qemu.js';

/** Resolves with how long `work` took to settle, and its error if it failed. */
async function timed(work: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const start = Date.now();
  const error = await work.then(
    () => undefined,
    (err: unknown) => err,
  );
  return { ms: Date.now() - start, error };
}

/** Thumb code for the guest: write 'A' to the CMSDK UART's data register (0x40004000) forever. */
const FLOOD = Buffer.from([0x02, 0x48, 0x41, 0x21, 0x01, 0x60, 0xfd, 0xe7, 0x00, 0xbf, 0x00, 0xbf, 0x00, 0x40, 0x00, 0x40]);
const FLOOD_AT = 0x2030_0000;

/** Makes the firmware run until told otherwise (a `.params` word, writable before start). */
const runForever = (qemu: LaunchedQemu) => qemu.write(qemu.symbol('run_ticks'), 0, 4);

describe('QEMU dies under us', () => {
  it('killed in the middle of a command: the command fails naming the signal, at once', () =>
    withQemu({}, async (qemu) => {
      const reading = qemu.readBytes(0x2000_0000, 4 << 20, { physical: true }); // several qtest round trips
      process.kill(qemu.process.pid!, 'SIGKILL');
      const { ms, error } = await timed(reading);
      expect(error).toBeInstanceOf(QemuExitedError);
      expect((error as QemuExitedError).signal).toBe('SIGKILL');
      // Then where it was noticed: a qtest read (in flight, or the next one, which the closed
      // connection refuses to send), or the QMP query that precedes it on first use.
      expect((error as Error).message).toMatch(
        /^QEMU was killed by SIGKILL; (qtest command 'b64read .*' not (answered|sent)|QMP command '[a-z-]+' aborted)/,
      );
      expect(ms).toBeLessThan(2000);
      // Later commands and run() say the same, without waiting for any timeout.
      await expect(qemu.read(qemu.symbol('scratch'), 4)).rejects.toThrow(/QEMU was killed by SIGKILL/);
      await expect(qemu.run()).rejects.toBeInstanceOf(QemuExitedError);
    }));

  it('registers say QEMU is gone, as every other call does', () =>
    withQemu({}, async (qemu) => {
      expect(await qemu.registers.get('pc')).toBeGreaterThan(0);
      process.kill(qemu.process.pid!, 'SIGKILL');
      await qemu.process.exited;
      await expect(qemu.registers.get('pc')).rejects.toBeInstanceOf(QemuExitedError);
      await expect(qemu.registers.set('r0', 1)).rejects.toThrow(/^QEMU was killed by SIGKILL; /);
      await expect(qemu.registers.all()).rejects.toBeInstanceOf(QemuExitedError);
    }));

  it('crashes (SIGSEGV) while a run is in progress: run() reports the signal', () =>
    withQemu({}, async (qemu) => {
      await runForever(qemu);
      const running = qemu.run({ timeoutMs: 10_000 });
      await qemu.serial.waitFor('auth: ');
      process.kill(qemu.process.pid!, 'SIGSEGV');
      const { ms } = await timed(running);
      expect(await running).toEqual({ reason: 'exit', timeNs: undefined, exitCode: undefined, signal: 'SIGSEGV' });
      expect(ms).toBeLessThan(2000);
      await expect(qemu.status()).rejects.toThrow(/QEMU was killed by SIGSEGV/);
    }));

  it("aborts on a CPU lockup the guest caused: the error quotes QEMU's last words", () =>
    // Without semihosting the firmware's exit traps, its HardFault handler traps again, and QEMU
    // 7.2 aborts with "Lockup: can't escalate 3 to HardFault".
    withQemu({ semihosting: false }, async (qemu) => {
      const result = await qemu.run({ timeoutMs: 10_000 });
      expect(result).toMatchObject({ reason: 'exit', signal: 'SIGABRT' });
      const error = await qemu.readPhysical(qemu.symbol('scratch'), 4).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(QemuExitedError);
      expect((error as QemuExitedError).stderrTail).toMatch(/Lockup/);
      expect((error as Error).message).toMatch(/QEMU was killed by SIGABRT/);
    }));
});

describe('the guest resets', () => {
  async function starveWatchdog(qemu: LaunchedQemu): Promise<void> {
    await runForever(qemu);
    await qemu.write(qemu.symbol('wdt_feed_enabled'), 0, 4); // the watchdog resets the board ~8 ms in
  }

  it('run({ stopOnReset }) stops there with reason "reset", QEMU still up', () =>
    withQemu({}, async (qemu) => {
      await starveWatchdog(qemu);
      const result = await qemu.run({ stopOnReset: true, timeoutMs: 10_000 });
      expect(result.reason).toBe('reset');
      expect(qemu.serial.text).toContain('WDT: timeout');
      expect(qemu.process.exitInfo).toBeUndefined();
      expect((await qemu.status()).running).toBe(false);
    }));

  it('with onReset: "exit", run() ends with the exit and later commands say QEMU exited after the guest reset', () =>
    withQemu({ onReset: 'exit' }, async (qemu) => {
      await starveWatchdog(qemu);
      expect(await qemu.run({ timeoutMs: 10_000 })).toEqual({ reason: 'exit', timeNs: undefined, exitCode: 0 });
      await expect(qemu.read(qemu.symbol('scratch'), 4)).rejects.toThrow(/QEMU exited with code 0 after a QMP SHUTDOWN \(guest-reset\)/);
    }));
});

describe('the guest floods its serial port', () => {
  // Waits for volume, not for time: a loaded machine floods more slowly (about 200 kB/s idle).
  it('keeps the capture bounded, and waitFor still times out with the tail', { timeout: 150_000 }, () =>
    withQemu({}, async (qemu) => {
      // At app_loop, send the CPU into a loop that writes the UART as fast as QEMU lets it (about
      // 200 kB/s: a socket write per byte), with the watchdog that would end it off.
      await qemu.write(qemu.symbol('wdt_enabled'), 0, 4);
      await qemu.at('app_loop', async ({ registers }) => {
        await qemu.writeBytes(FLOOD_AT, FLOOD, { physical: true });
        await registers.set('pc', FLOOD_AT);
      });
      const heapBefore = process.memoryUsage().heapUsed;
      const result = await qemu.run({ until: () => qemu.serial.droppedChars > 256 << 10, timeoutMs: 120_000 });
      expect(result.reason).toBe('until');
      expect(qemu.serial.text.length).toBeLessThanOrEqual(1 << 20);
      expect(qemu.serial.text.length).toBe(1 << 20);
      expect(qemu.serial.text.endsWith('AAAA')).toBe(true);
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 << 20);

      const { ms, error } = await timed(qemu.serial.waitFor('never printed', { timeoutMs: 300, fresh: true }));
      expect(ms).toBeLessThan(1000);
      expect((error as Error).message).toMatch(/timed out after 300 ms \(serial output so far ends with: "A+"\)/);
    }),
  );
});

describe('a trigger callback never settles', () => {
  it('fails the run after callbackTimeoutMs, naming the callback and the guest time; close() still works', () =>
    withQemu({ callbackTimeoutMs: 300 }, async (qemu) => {
      await qemu.notify(1_000_000, () => new Promise(() => {}));
      const { ms, error } = await timed(qemu.run({ timeoutMs: 20_000 }));
      expect(error).toBeInstanceOf(TriggerCallbackError);
      expect((error as Error).message).toMatch(
        /time trigger callback failed at guest time \d+ ns: .*timed out after 300 ms \(it never settled\)/,
      );
      expect(ms).toBeLessThan(5000);
    }));
});
