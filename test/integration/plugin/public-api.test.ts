/**
 * The plugin on a QEMU that exports only its plugin API (upstream's default build), simulated with
 * `internals=none`: what each API version can do works, and what it cannot is refused with the
 * QEMU and what is missing named. The API version expected for each release is QEMU's own
 * (`QEMU_PLUGIN_VERSION` by release), so the test checks the probe too.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type ElfImage, readElf } from '../../../packages/core/src/elf/elf-file.js';
import { InvalidArgumentError, UnsupportedError } from '../../../packages/core/src/errors.js';
import { firmware, GOLDEN_RESULT } from '../../support/firmware.js';
import { gdbRegisters, type PluginRun, pluginRegisters, runToEnd, startPluginRun } from '../../support/plugin-run.js';
import { qemuRelease } from '../../support/qemus.js';

let elf: ElfImage;
const sym = (name: string): number => elf.symbol(name).address;

/** QEMU_PLUGIN_VERSION by release (include/qemu/qemu-plugin.h). */
function expectedApi([major, minor]: [number, number]): number {
  const v = major * 100 + minor;
  if (v >= 1101) return 7;
  if (v >= 1100) return 6;
  if (v >= 1001) return 5;
  if (v >= 902) return 4;
  if (v >= 901) return 3;
  if (v >= 900) return 2;
  return 1;
}
const api = expectedApi(qemuRelease());

beforeAll(async () => {
  elf = await readElf(firmware());
});

async function frozenAt(run: PluginRun, symbol: string) {
  await run.ch.armPc('p', sym(symbol));
  await run.ch.resume();
  const hit = await run.ch.nextHit(10_000);
  expect(hit.pc).toBe(BigInt(sym(symbol)));
  return hit;
}

describe(`plugin without internals (plugin API ${api})`, () => {
  it('is built for the API version of this QEMU and says what it can do', async () => {
    const run = await startPluginRun({ internals: 'none' });
    expect(run.ch.hello).toMatchObject({
      api,
      qemuApi: { cur: api },
      precise: 'flush',
      clock: false,
      stoppedRegisters: false,
      pcTriggers: 'hook',
      watch: api >= 2 ? 'next' : 'none',
      registers: api >= 5 ? 'rw' : api >= 2 ? 'r' : 'none',
      setPc: api >= 6,
      memory: api >= 5 ? 'rw' : api >= 4 ? 'r' : 'none',
      missing: ['all'],
    });
    expect((await run.ch.count()).count).toBe(0n); // the start freeze is exact on every version
  });

  it('pc triggers freeze at the pc; registers there are exact from API 2 on', async () => {
    const run = await startPluginRun({ internals: 'none' });
    const hit = await frozenAt(run, 'auth_check_branch');
    if (api < 2) {
      expect(hit.exact).toBe(false);
      await expect(run.ch.registers(0)).rejects.toThrow(InvalidArgumentError);
      return;
    }
    expect(hit.exact).toBe(true);
    const branch = sym('auth_check_branch');
    expect(await pluginRegisters(run)).toEqual(await gdbRegisters((g) => g.insertBreakpoint(branch)));
  });

  it('a register written at a function entry takes effect from API 5 on', async () => {
    const run = await startPluginRun({ internals: 'none' });
    await frozenAt(run, 'check_pin');
    if (api < 5) {
      await expect(run.ch.setRegister(0, 0, 4711n)).rejects.toThrow(api < 2 ? InvalidArgumentError : UnsupportedError);
      return;
    }
    await run.ch.setRegister(0, 0, 4711n);
    await run.ch.resume();
    await runToEnd(run);
    expect(await run.serial()).toContain('auth: GRANTED');
  });

  it('a pc write (instruction skip) takes effect from API 6 on', async () => {
    const run = await startPluginRun({ internals: 'none' });
    const hit = await frozenAt(run, 'auth_check_branch');
    if (api < 6) {
      await expect(run.ch.setRegister(0, 15, hit.pc + 2n)).rejects.toThrow(api < 2 ? InvalidArgumentError : UnsupportedError);
      return;
    }
    await run.ch.setRegister(0, 15, hit.pc + 2n);
    await run.ch.resume();
    expect(await runToEnd(run)).toEqual([]);
    const out = await run.serial();
    expect(out).toContain('auth: GRANTED');
    expect(out).toContain(GOLDEN_RESULT);
  });

  it('memory at a freeze: reads from API 4, writes from API 5', async () => {
    const run = await startPluginRun({ internals: 'none' });
    await frozenAt(run, 'check_pin');
    const guard = sym('guard');
    if (api < 4) {
      await expect(run.ch.readMemory(0, guard, 4)).rejects.toThrow(UnsupportedError);
      return;
    }
    expect((await run.ch.readMemory(0, guard, 4)).readUInt32LE(0)).toBe(0xc0ffee42);
    if (api < 5) {
      await expect(run.ch.writeMemory(0, guard, Buffer.alloc(4))).rejects.toThrow(UnsupportedError);
      return;
    }
    await run.ch.writeMemory(0, guard, Buffer.alloc(4));
    await run.ch.resume();
    await runToEnd(run);
    expect(await run.exited).toBe(2);
    expect(await run.serial()).toContain('SAFE STATE: guard');
  });

  it('data watchpoints freeze before the instruction after the access, with exact registers (API 2 on)', async () => {
    const run = await startPluginRun({ internals: 'none' });
    const addr = sym('sensor_value');
    if (api < 2) {
      await expect(run.ch.armWatch('s', 'w', addr, 4)).rejects.toThrow(UnsupportedError);
      return;
    }
    await run.ch.armWatch('s', 'w', addr, 4);
    await run.ch.resume();
    const hits = await runToEnd(run, async (hit) => {
      expect(hit.exact).toBe(true);
      const regs = await pluginRegisters(run);
      expect(regs[15]).toBe(Number(hit.pc));
    });
    expect(hits.length).toBe(21); // as with the internals: the .bss clear, then one write per tick
    for (const hit of hits.slice(1)) expect(hit.pc).toBe(hit.watch!.pc + 2n);
    expect(await run.serial()).toContain(GOLDEN_RESULT);
  });

  it('guest time needs the internals on every version', async () => {
    const run = await startPluginRun({ internals: 'none' });
    await expect(run.ch.vtime()).rejects.toThrow(UnsupportedError);
    await expect(run.ch.armVtime('t', 1000)).rejects.toThrow(UnsupportedError);
  });
});
