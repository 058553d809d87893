import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionClosedError, InvalidArgumentError, QtestError, TimeoutError } from '../../packages/core/src/errors.js';
import { GdbClient } from '../../packages/core/src/gdb/gdb-client.js';
import { type IrqEvent, QtestClient } from '../../packages/core/src/qtest/qtest-client.js';
import { killAllSideChannels, type SideChannelQemu, spawnSideChannels } from '../support/spawn-side-channels.js';

// mps2-an385: SRAM at 0x20000000, code RAM at 0.
const SRAM = 0x2000_0000;

let qemu: SideChannelQemu;
let qtest: QtestClient;
const cleanups: Array<() => Promise<unknown>> = [];

beforeEach(async () => {
  qemu = await spawnSideChannels();
  cleanups.push(() => qemu.kill());
  qtest = await QtestClient.connect(qemu.qtestPath);
  cleanups.push(() => qtest.close());
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

afterAll(killAllSideChannels);

async function connectGdb(): Promise<GdbClient> {
  const gdb = await GdbClient.connect(qemu.gdbPath);
  cleanups.push(() => gdb.close());
  return gdb;
}

describe('QtestClient against qemu-system-arm 7.2', () => {
  it('reports the endianness and reads back values of every width', async () => {
    expect(qtest.endianness()).toBe('little');
    await qtest.writeb(SRAM, 0xab);
    expect(await qtest.readb(SRAM)).toBe(0xab);
    await qtest.writew(SRAM + 2, 0xbeef);
    expect(await qtest.readw(SRAM + 2)).toBe(0xbeef);
    await qtest.writel(SRAM + 4, 0xdeadbeef);
    expect(await qtest.readl(SRAM + 4)).toBe(0xdeadbeef);
    await qtest.writeq(SRAM + 8, 0xfedcba9876543210n);
    expect(await qtest.readq(SRAM + 8)).toBe(0xfedcba9876543210n);
    expect(await qtest.readl(SRAM + 8)).toBe(0x76543210);
  });

  it('sees gdbstub writes, and the gdbstub sees its writes, at every width', async () => {
    const gdb = await connectGdb();
    await qtest.writeb(SRAM, 0x11);
    await qtest.writew(SRAM + 2, 0x2233);
    await qtest.writel(SRAM + 4, 0x44556677);
    await qtest.writeq(SRAM + 8, 0x8899aabbccddeeffn);
    expect((await gdb.readMemory(SRAM, 1)).toString('hex')).toBe('11');
    expect((await gdb.readMemory(SRAM + 2, 2)).toString('hex')).toBe('3322');
    expect((await gdb.readMemory(SRAM + 4, 4)).toString('hex')).toBe('77665544');
    expect((await gdb.readMemory(SRAM + 8, 8)).toString('hex')).toBe('ffeeddccbbaa9988');

    await gdb.writeMemory(SRAM + 0x100, Buffer.from('a5', 'hex'));
    await gdb.writeMemory(SRAM + 0x102, Buffer.from('3412', 'hex'));
    await gdb.writeMemory(SRAM + 0x104, Buffer.from('78563412', 'hex'));
    await gdb.writeMemory(SRAM + 0x108, Buffer.from('efcdab8967452301', 'hex'));
    expect(await qtest.readb(SRAM + 0x100)).toBe(0xa5);
    expect(await qtest.readw(SRAM + 0x102)).toBe(0x1234);
    expect(await qtest.readl(SRAM + 0x104)).toBe(0x12345678);
    expect(await qtest.readq(SRAM + 0x108)).toBe(0x0123456789abcdefn);
  });

  it('round-trips 64 KiB in bulk, and the gdbstub agrees', async () => {
    const data = randomBytes(64 * 1024);
    await qtest.writeBytes(SRAM, data);
    expect((await qtest.readBytes(SRAM, data.length)).equals(data)).toBe(true);
    const gdb = await connectGdb();
    expect((await gdb.readMemory(SRAM + 0x8000, 0x2345)).equals(data.subarray(0x8000, 0x8000 + 0x2345))).toBe(true);
    expect(await qtest.readBytes(SRAM, 0)).toEqual(Buffer.alloc(0));
  });

  it('pipelines commands and matches the replies in order', async () => {
    await qtest.writeBytes(SRAM, Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
    const values = await Promise.all(Array.from({ length: 256 }, (_, i) => qtest.readb(SRAM + i)));
    expect(values).toEqual(Array.from({ length: 256 }, (_, i) => i));
  });

  it('turns FAIL into QtestError and keeps going', async () => {
    await expect(qtest.command('no_such_command')).rejects.toThrow(QtestError);
    await expect(qtest.irqInterceptOut('/machine/no-such-device')).rejects.toMatchObject({ reply: 'FAIL Unknown device' });
    expect(await qtest.command('endianness')).toBe('little');
  });

  it('delivers IRQ lines interleaved with replies as events', async () => {
    const events: IrqEvent[] = [];
    qtest.onIrq((e) => events.push(e));
    await qtest.irqInterceptIn('/machine/armv7m');
    await qtest.setIrqIn('/machine/armv7m', undefined, 3, 1);
    await qtest.setIrqIn('/machine/armv7m', undefined, 3, 1);
    await qtest.setIrqIn('/machine/armv7m', undefined, 3, 0);
    expect(events).toEqual([
      { level: 'raise', line: 3 },
      { level: 'lower', line: 3 },
    ]);
  });

  it('refuses what would inject a command or crash QEMU, sending nothing', async () => {
    await expect(qtest.command('readl 0x0\nwritel 0x0 0x1')).rejects.toThrow(InvalidArgumentError);
    await expect(qtest.command('')).rejects.toThrow(InvalidArgumentError);
    await expect(qtest.command('readl  0x0')).rejects.toThrow(InvalidArgumentError);
    await expect(qtest.writeb(SRAM, 0x100)).rejects.toThrow(InvalidArgumentError);
    await expect(qtest.writel(-1, 0)).rejects.toThrow(InvalidArgumentError);
    await expect(qtest.setIrqIn('/machine/armv7m\nreadl', undefined, 0, 1)).rejects.toThrow(InvalidArgumentError);
    // QEMU is still alive and in step.
    expect(await qtest.readl(SRAM)).toBe(0);
  });

  it('closes the connection when a reply is late, so it cannot be matched to the next command', async () => {
    // QEMU serves one qtest connection at a time.
    await qtest.close();
    const slow = await QtestClient.connect(qemu.qtestPath, { timeoutMs: 200 });
    cleanups.push(() => slow.close());
    qemu.child.kill('SIGSTOP');
    try {
      const first = slow.readl(SRAM);
      const second = slow.readl(SRAM + 4);
      await expect(first).rejects.toThrow(TimeoutError);
      await expect(second).rejects.toThrow(ConnectionClosedError);
      expect((await slow.closed).by).toBe('error');
    } finally {
      qemu.child.kill('SIGCONT');
    }
    await expect(slow.readl(SRAM)).rejects.toThrow(ConnectionClosedError);
  });

  it('rejects pending commands promptly when QEMU dies', async () => {
    qemu.child.kill('SIGSTOP');
    const pending = qtest.readl(SRAM);
    qemu.child.kill('SIGKILL');
    await expect(pending).rejects.toThrow(ConnectionClosedError);
    expect((await qtest.closed).by).toBe('peer');
  });

  it('explains a handshake timeout: QEMU serves one client at a time', async () => {
    await expect(QtestClient.connect(qemu.qtestPath, { timeoutMs: 300 })).rejects.toThrow(/one client per socket/);
  });
});
