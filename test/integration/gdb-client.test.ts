import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionClosedError, GdbError, InvalidArgumentError } from '../../packages/core/src/errors.js';
import { GdbClient } from '../../packages/core/src/gdb/gdb-client.js';
import { qemuVersion } from '../support/qemus.js';
import { killAllSideChannels, type SideChannelQemu, spawnSideChannels } from '../support/spawn-side-channels.js';

// mps2-an385 (Cortex-M3): code RAM at 0, SRAM at 0x20000000.
const CODE = 0x1000;
const COUNTER = 0x2000_0010;
/**
 * Thumb, as `arm-none-eabi-gcc -mcpu=cortex-m3` assembles it:
 *   0x1000  movs r0, #0
 *   0x1002  adds r0, #1      <- loop
 *   0x1004  str  r0, [r1]    (r1 = COUNTER)
 *   0x1006  b.n  loop
 */
const LOOP = Buffer.from('00200130' + '0860fce7', 'hex');
const XPSR_THUMB = 0x0100_0000;

let qemu: SideChannelQemu;
let gdb: GdbClient;
const cleanups: Array<() => Promise<unknown>> = [];

beforeEach(async () => {
  qemu = await spawnSideChannels();
  cleanups.push(() => qemu.kill());
  gdb = await GdbClient.connect(qemu.gdbPath);
  cleanups.push(() => gdb.close());
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

afterAll(killAllSideChannels);

/** Loads the loop and points the CPU at it; the reset state has the Thumb bit clear, which would fault. */
async function loadLoop(): Promise<void> {
  await gdb.writeMemory(CODE, LOOP);
  await gdb.writeRegister('pc', CODE);
  await gdb.writeRegister('sp', 0x2000_1000);
  await gdb.writeRegister('xpsr', XPSR_THUMB);
  await gdb.writeRegister('r1', COUNTER);
}

async function counter(): Promise<number> {
  return (await gdb.readMemory(COUNTER, 4)).readUInt32LE();
}

describe(`GdbClient against qemu-system-arm ${qemuVersion()}`, () => {
  it('maps register names from the target description', async () => {
    const names = (await gdb.registers()).map((r) => `${r.name}=${r.regnum}/${r.bitsize}`);
    // the M-profile core feature first; later QEMUs add a system-registers feature (msp, psp, ...)
    expect(names.slice(0, 17)).toEqual([
      ...Array.from({ length: 13 }, (_, i) => `r${i}=${i}/32`),
      'sp=13/32',
      'lr=14/32',
      'pc=15/32',
      'xpsr=25/32',
    ]);
  });

  it('reads and writes registers by the names the target description gives them', async () => {
    await gdb.writeRegister('r0', 0xdeadbeef);
    await gdb.writeRegister('r12', 0x12345678);
    await gdb.writeRegister('SP', 0x2000_0800);
    expect(await gdb.readRegister('r0')).toBe(0xdeadbeef);
    expect(await gdb.readRegister('sp')).toBe(0x2000_0800);
    // Architecture aliases (r13, cpsr) are not the client's: it names registers as the stub does.
    await expect(gdb.readRegister('r13')).rejects.toThrow(InvalidArgumentError);
    const all = await gdb.readRegisters();
    // the M-profile core set; later QEMUs describe more (the banked stack pointers, from 8.1 on)
    expect(Object.keys(all)).toEqual(expect.arrayContaining(['r0', 'r12', 'sp', 'lr', 'pc', 'xpsr']));
    expect(all).toMatchObject({ r0: 0xdeadbeef, r12: 0x12345678, sp: 0x2000_0800 });
    await expect(gdb.writeRegister('r0', 2 ** 32)).rejects.toThrow(InvalidArgumentError);
    await expect(gdb.readRegister('d0')).rejects.toThrow(InvalidArgumentError);
  });

  it('round-trips memory larger than one packet', async () => {
    const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff));
    await gdb.writeMemory(0x2000_0000, data);
    expect((await gdb.readMemory(0x2000_0000, data.length)).equals(data)).toBe(true);
    expect((await gdb.readMemory(0x2000_0000, 4, 0)).equals(data.subarray(0, 4))).toBe(true);
    await expect(gdb.readMemory(0x2000_0000, 4, 1)).rejects.toThrow(GdbError);
  });

  it('turns Exx into GdbError and passes empty (unsupported) replies through', async () => {
    await expect(gdb.request('p400')).rejects.toThrow(GdbError); // no register 1024 on any target
    expect(await gdb.request('vMustReplyEmpty')).toBe('');
    await expect(gdb.request('c')).rejects.toThrow(InvalidArgumentError);
  });

  it('steps one instruction at a time', async () => {
    await loadLoop();
    expect(await gdb.step()).toMatchObject({ signal: 5 });
    expect(await gdb.readRegister('pc')).toBe(CODE + 2);
    await gdb.step();
    expect(await gdb.readRegister('pc')).toBe(CODE + 4);
    expect(await gdb.readRegister('r0')).toBe(1);
  });

  it('stops at a breakpoint, and continues past it to the next hit', async () => {
    await loadLoop();
    await gdb.insertBreakpoint(CODE + 4);
    expect(await gdb.continue()).toEqual({ signal: 5, reason: 'breakpoint', address: BigInt(CODE + 4), thread: '01' });
    expect(await gdb.readRegister('pc')).toBe(CODE + 4);
    expect(await gdb.readRegister('r0')).toBe(1);
    expect(await gdb.continue()).toMatchObject({ reason: 'breakpoint' });
    expect(await gdb.readRegister('r0')).toBe(2);
    expect(await counter()).toBe(1);
    await gdb.removeBreakpoint(CODE + 4);
  });

  it('reports a write watchpoint with its address, before the store, and continues past it', async () => {
    await loadLoop();
    await gdb.insertWatchpoint('write', COUNTER, 4);
    expect(await gdb.continue()).toEqual({ signal: 5, reason: 'watch', address: BigInt(COUNTER), thread: '01' });
    expect(await gdb.readRegister('pc')).toBe(CODE + 4);
    expect(await counter()).toBe(0);
    expect(await gdb.continue()).toMatchObject({ reason: 'watch', address: BigInt(COUNTER) });
    expect(await counter()).toBe(1);
    await gdb.removeWatchpoint('write', COUNTER, 4);
  });

  it('interrupts a running loop, with requests made meanwhile waiting for the stop', async () => {
    await loadLoop();
    const running = gdb.continue();
    await sleep(100);
    const pc = gdb.readRegister('pc');
    const stop = await gdb.interrupt();
    expect(await running).toBe(stop);
    expect(stop.signal).toBe(2);
    expect([CODE + 2, CODE + 4, CODE + 6]).toContain(await pc);
    expect(await counter()).toBeGreaterThan(0);
    await expect(gdb.step()).resolves.toMatchObject({ signal: 5 });
  });

  it('rejects a continue promptly when QEMU is killed', async () => {
    await loadLoop();
    const running = gdb.continue();
    await sleep(50);
    const rejected = expect(running).rejects.toThrow(ConnectionClosedError);
    const killedAt = Date.now();
    await qemu.kill();
    await rejected;
    expect(Date.now() - killedAt).toBeLessThan(1000);
    expect((await gdb.closed).by).toBe('peer');
  });
});
