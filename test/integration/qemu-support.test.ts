/**
 * The README's support table, cell by cell, on the project's QEMU: each feature with QEMU's
 * internals and with its public plugin API only (`internals: 'ignore'`). Where a feature "works",
 * it is exercised; where it does not, the error is typed and names the QEMU and what is missing.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, type LaunchedQemu, launch, UnsupportedError } from '../../packages/core/src/index.js';
import { firmware } from '../support/firmware.js';
import { qemuRelease, qemuVersion } from '../support/qemus.js';
import { afterThisTest } from '../support/scratch.js';

/** The plugin API of this QEMU release (QEMU_PLUGIN_VERSION). */
const [major, minor] = qemuRelease();
const release = major * 100 + minor;
const api =
  release >= 1101 ? 7 : release >= 1100 ? 6 : release >= 1001 ? 5 : release >= 902 ? 4 : release >= 901 ? 3 : release >= 900 ? 2 : 1;

async function start(internals: 'use' | 'ignore'): Promise<LaunchedQemu> {
  const qemu = await launch({ machine: 'mps2-an385', kernel: firmware(), internals });
  afterThisTest(() => qemu.close());
  return qemu;
}

describe(`QEMU ${qemuVersion()} with its internals`, () => {
  it('serves guest time, exact pc triggers with writable registers and pc, data triggers and traces', async () => {
    const qemu = await start('use');
    const times: number[] = [];
    await qemu.notify(3_000_000, (ctx) => void times.push(ctx.timeNs));
    const branch = qemu.symbol('auth_check_branch');
    await qemu.at('check_pin', async ({ registers }) => {
      expect(await registers.get('r0')).toBe(1234);
      await registers.set('r0', 1235); // still wrong: the branch decides
    });
    await qemu.at(branch, ({ registers }) => registers.set('pc', branch + 2)); // skip the branch
    const writes: number[] = [];
    await qemu.onWrite('sensor_value', 4, (ctx) => void writes.push(ctx.access!.address));
    const recording = await qemu.recordExecution({ in: 'check_pin' });
    expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(times.length).toBe(1);
    expect(times[0]).toBeGreaterThanOrEqual(3_000_000);
    expect(qemu.serial.text).toContain('auth: GRANTED');
    expect(writes.length).toBe(21);
    const executed = (await recording.stop()).map((i) => i.pc);
    expect(executed).toContain(qemu.symbol('check_pin'));
    expect(executed).not.toContain(branch); // skipped
    expect(executed).toContain(branch + 2);
  });
});

describe(`QEMU ${qemuVersion()} through its public plugin API only (plugin API ${api})`, () => {
  it('has no guest time: notify() and now() say so, naming the QEMU and what is missing', async () => {
    const qemu = await start('ignore');
    for (const call of [() => qemu.notify(1_000_000, () => undefined), () => qemu.now()]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnsupportedError);
      expect((err as Error).message).toContain(`QEMU ${qemuVersion()}, plugin API ${api}, internals not exported: all`);
    }
  });

  it(`pc triggers fire at the pc${api >= 2 ? ' with readable registers' : ''}${api >= 5 ? ', writable' : ''}${api >= 6 ? ', and the pc' : ''}`, async () => {
    const qemu = await start('ignore');
    const branch = qemu.symbol('auth_check_branch');
    const seen: unknown[] = [];
    await qemu.at('check_pin', async ({ registers, pc }) => {
      seen.push(pc);
      if (api < 2) return void seen.push(await registers.get('r0').catch((e: unknown) => e));
      seen.push(await registers.get('r0'));
      if (api < 5) return void seen.push(await registers.set('r0', 4711).catch((e: unknown) => e));
      await registers.set('r0', 4711); // the right PIN
    });
    await qemu.at(branch, async ({ registers }) => {
      if (api < 6) return void seen.push(await registers.set('pc', branch + 2).catch((e: unknown) => e));
      await registers.set('pc', branch + 2);
    });
    expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(seen[0]).toBe(qemu.symbol('check_pin'));
    if (api < 2) expect(seen[1]).toBeInstanceOf(InvalidArgumentError);
    else expect(seen[1]).toBe(1234);
    if (api >= 2 && api < 5) expect(seen[2]).toBeInstanceOf(UnsupportedError);
    if (api < 6) expect(seen.at(-1)).toBeInstanceOf(api < 2 ? InvalidArgumentError : UnsupportedError);
    // with the registers written, access is granted (the right PIN, or the skipped branch)
    expect(qemu.serial.text).toContain(api >= 5 ? 'auth: GRANTED' : 'auth: denied');
  });

  it(`data triggers ${api >= 2 ? 'fire after each access' : 'need plugin API 2'}; traces and memory work on every version`, async () => {
    const qemu = await start('ignore');
    const guard = qemu.symbol('guard');
    const watched = qemu.onWrite('sensor_value', 4, () => undefined);
    if (api < 2) await expect(watched).rejects.toThrow(UnsupportedError);
    else await watched;
    const recording = await qemu.recordExecution({ in: 'check_pin' });
    await qemu.at('check_pin', () => qemu.write(guard, 0, 4)); // memory goes through qtest: no plugin API needed
    expect(await qemu.run()).toMatchObject({ reason: 'exit', exitCode: 2 });
    expect((await recording.stop()).length).toBeGreaterThan(3);
  });
});
