import { execFileSync } from 'node:child_process';
import { InvalidArgumentError, type LaunchedQemu, QmpError, UnknownSymbolError } from '@qemu-fault/core';
import { describe, expect, it } from 'vitest';
import { firmware, GOLDEN_RESULT } from '../support/firmware.js';
import { qemuVersion } from '../support/qemus.js';
import { withQemu } from '../support/with-qemu.js';

/** `nm` is the reference for symbol addresses. */
function nmAddress(elf: string, name: string): number {
  const line = execFileSync('arm-none-eabi-nm', [elf], { encoding: 'utf8' })
    .split('\n')
    .find((l) => l.endsWith(` ${name}`));
  if (!line) throw new Error(`nm: no ${name}`);
  return Number.parseInt(line.split(' ')[0]!, 16);
}

/** After a rejected call QEMU must still be alive and answering. */
async function expectAlive(qemu: LaunchedQemu): Promise<void> {
  expect(qemu.process.exitInfo).toBeUndefined();
  await expect(qemu.status()).resolves.toMatchObject({ running: expect.any(Boolean) });
}

describe('memory from a CPU view and physical', () => {
  it('writes and reads back every size, seen the same through both views', () =>
    withQemu({}, async (qemu) => {
      const scratch = qemu.symbol('scratch');
      await qemu.write(scratch, 0xdeadbeef, 4);
      expect(await qemu.read(scratch, 4)).toBe(0xdeadbeef);
      expect(await qemu.readPhysical(scratch, 4)).toBe(0xdeadbeef);
      // Little-endian target: the low byte comes first.
      expect(await qemu.read(scratch, 1)).toBe(0xef);
      expect(await qemu.read(scratch + 2, 2)).toBe(0xdead);

      await qemu.write(scratch, 0x0102030405060708n, 8);
      const wide = await qemu.read(scratch, 8);
      expect(wide).toBe(0x0102030405060708n);
      expect(typeof wide).toBe('bigint');

      await qemu.writePhysical(scratch, 0xa5, 1);
      await qemu.writePhysical(scratch + 1, 0x1234, 2);
      expect(await qemu.read(scratch, 4)).toBe(0x0512_34a5);
      await qemu.writePhysical(scratch, 0xcafef00d, 4);
      expect(await qemu.read(scratch, 4, await cpuPath(qemu))).toBe(0xcafef00d);
    }));

  it('moves buffers in bulk both ways', () =>
    withQemu({}, async (qemu) => {
      const base = 0x2000_8000;
      const data = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7 + 3) & 0xff));
      await qemu.writeBytes(base, data);
      expect(await qemu.readBytes(base, data.length, { physical: true })).toEqual(data);
      const reversed = Buffer.from(data).reverse();
      await qemu.writeBytes(base, reversed, { physical: true });
      expect(await qemu.readBytes(base, data.length)).toEqual(reversed);
      expect(await qemu.readBytes(base, 0)).toEqual(Buffer.alloc(0));
    }));

  it('reads CPU-private registers through the CPU view', () =>
    withQemu({}, async (qemu) => {
      // CPUID of a Cortex-M3 r2p1: implementer 0x41 (ARM), part 0xC23.
      expect(await qemu.read(0xe000ed00, 4)).toBe(0x410fc231);
    }));

  it('reads while the guest runs, and sees it make progress', () =>
    withQemu({}, async (qemu) => {
      await qemu.write(qemu.symbol('run_ticks'), 0, 4);
      await qemu.cont();
      await qemu.serial.waitFor('auth: denied');
      const ticks = qemu.symbol('ticks');
      const first = await qemu.read(ticks, 4);
      await expect.poll(() => qemu.read(ticks, 4), { timeout: 5000 }).toBeGreaterThan(first);
      expect(await qemu.readPhysical(ticks, 4)).toBeGreaterThan(first);
    }));

  it('changes what the firmware does: a preset parameter shortens the run', () =>
    withQemu({}, async (qemu) => {
      await qemu.write(qemu.symbol('run_ticks'), 3, 4);
      await qemu.cont();
      await qemu.serial.waitFor('done');
      const result = /result: (0x[0-9a-f]{8})/.exec(qemu.serial.text)?.[0];
      expect(result).toBeDefined();
      expect(result).not.toBe(GOLDEN_RESULT);
    }));
});

describe('QOM, GPIO and run control', () => {
  it('gets and sets QOM properties', () =>
    withQemu({}, async (qemu) => {
      expect(await qemu.getQomProperty('/machine', 'type')).toBe('mps2-an385-machine');
      expect(await qemu.getQomProperty(await cpuPath(qemu), 'start-powered-off')).toBe(false);
      await qemu.setQomProperty('/machine', 'dumpdtb', '/nonexistent/never-written.dtb');
      expect(await qemu.getQomProperty('/machine', 'dumpdtb')).toBe('/nonexistent/never-written.dtb');
    }));

  it('drives a GPIO input and the firmware goes to its safe state', () =>
    withQemu({ machine: 'lm3s6965evb', kernel: firmware('lm3s6965evb') }, async (qemu) => {
      await qemu.write(qemu.symbol('run_ticks'), 0, 4);
      const port = await gpioPortA(qemu);
      await qemu.cont();
      await qemu.serial.waitFor('auth: denied');
      await qemu.setGpio(port, null, 0, 1);
      await qemu.serial.waitFor('SAFE STATE: gpio');
      expect(qemu.serial.text).toContain('GPIO: safe state requested');
      expect((await qemu.process.exited).exitCode).toBe(4);
    }));

  it('stops and continues the guest', () =>
    withQemu({}, async (qemu) => {
      expect((await qemu.status()).running).toBe(false);
      await qemu.cont();
      expect((await qemu.status()).running).toBe(true);
      await qemu.stop();
      const status = await qemu.status();
      expect(status).toEqual({ running: false, status: 'paused' });
    }));

  it('runs the firmware to its golden result', () =>
    withQemu({}, async (qemu) => {
      await qemu.cont();
      await qemu.serial.waitFor('done');
      expect(qemu.serial.text).toContain(GOLDEN_RESULT);
      expect((await qemu.process.exited).exitCode).toBe(0);
    }));
});

describe('symbols, help and traces', () => {
  it('finds symbols as nm does, Thumb bit cleared for functions', () =>
    withQemu({}, async (qemu) => {
      const elf = firmware();
      expect(qemu.symbol('scratch')).toBe(nmAddress(elf, 'scratch'));
      expect(qemu.symbol('auth_check_branch')).toBe(nmAddress(elf, 'auth_check_branch'));
      expect(qemu.symbol('check_pin')).toBe(nmAddress(elf, 'check_pin') & ~1);
      expect(qemu.symbol('auth_check_branch') - qemu.symbol('check_pin')).toBe(6);
    }));

  it('help() lists the commands and prints them', () =>
    withQemu({}, async (qemu) => {
      const text = qemu.help();
      for (const name of ['read(', 'write(', 'getQomProperty', 'setQomProperty', 'setGpio', 'cont()', 'help()']) {
        expect(text).toContain(name);
      }
      expect(text).toContain(`QEMU ${qemuVersion()}`);
    }));

  it('verbose 1 prints each injection; verbose 2 also every protocol message', async () => {
    const lines: string[] = [];
    await withQemu({ verbose: 1, log: (line) => lines.push(line) }, async (qemu) => {
      await qemu.write(0x2000_0100, 0xdeadbeef, 4);
      // Before the guest first runs, guest time is exactly 0.
      expect(lines).toContain('0ns: write @0x20000100 size 4 value 0xdeadbeef from cpu 0');
      expect(lines.some((l) => l.startsWith('[qmp]'))).toBe(false);
      qemu.verbose = 2;
      await qemu.status();
      expect(lines.some((l) => l.startsWith('[qmp] -> ') && l.includes('query-status'))).toBe(true);
      expect(qemu.trace.entries.at(-1)).toMatchObject({ kind: 'write', text: 'write @0x20000100 size 4 value 0xdeadbeef from cpu 0' });
      expect(() => (qemu.verbose = 3 as never)).toThrow(InvalidArgumentError);
    });
  });
});

describe('bad input gets a typed error and QEMU survives it', () => {
  it('rejects bad sizes, values, addresses and CPUs', () =>
    withQemu({}, async (qemu) => {
      const scratch = qemu.symbol('scratch');
      await expect(qemu.read(scratch, 3 as never)).rejects.toThrow(/size must be 1, 2, 4 or 8/);
      await expect(qemu.write(scratch, 0x100, 1)).rejects.toThrow(/value for a 1-byte access 256 does not fit/);
      await expect(qemu.write(scratch, 2 ** 32, 4)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(qemu.read(-4, 4)).rejects.toThrow(/address must not be negative/);
      await expect(qemu.read(1.5, 4)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(qemu.read(scratch, 4, 7)).rejects.toThrow(/no CPU with index 7/);
      await expect(qemu.read(scratch, 4, '/machine/nothing')).rejects.toThrow(InvalidArgumentError);
      await expectAlive(qemu);
      expect(await qemu.read(scratch, 4)).toBe(0);
    }));

  it('rejects unknown QOM paths and properties', () =>
    withQemu({}, async (qemu) => {
      const err = await qemu.getQomProperty('/machine/nope', 'type').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QmpError);
      expect((err as QmpError).errorClass).toBe('DeviceNotFound');
      await expect(qemu.getQomProperty('/machine', 'no-such-property')).rejects.toThrow(/no-such-property/);
      await expect(qemu.setQomProperty('/machine', 'type', 'x')).rejects.toBeInstanceOf(QmpError);
      await expectAlive(qemu);
    }));

  it('rejects GPIO lines the device lacks without killing QEMU', () =>
    withQemu({ machine: 'lm3s6965evb', kernel: firmware('lm3s6965evb') }, async (qemu) => {
      const port = await gpioPortA(qemu);
      await expect(qemu.setGpio(port, null, 99, 1)).rejects.toThrow(
        /has no GPIO input unnamed-gpio-in\[99\]; its inputs are unnamed-gpio-in\[0\.\.7\]/,
      );
      await expect(qemu.setGpio(port, 'bogus', 0, 1)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(qemu.setGpio('/machine/nope', null, 0, 1)).rejects.toThrow(/no QOM object/);
      await expect(qemu.setGpio(port, null, -1, 1)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(qemu.setGpio(port, null, 0, 2 as never)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expectAlive(qemu);
    }));

  it('rejects unknown symbols', () =>
    withQemu({}, async (qemu) => {
      expect(() => qemu.symbol('no_such_symbol')).toThrow(UnknownSymbolError);
      expect(() => qemu.symbol('no_such_symbol')).toThrow(/'no_such_symbol' is not defined in .*faultdemo\.elf/);
      await expectAlive(qemu);
    }));
});

async function cpuPath(qemu: LaunchedQemu): Promise<string> {
  const [cpu] = await qemu.qmp.execute<Array<{ 'qom-path': string }>>('query-cpus-fast');
  return cpu!['qom-path'];
}

/** Finds PL061 port A as a user would, never a hard-coded path: ports A–G are the pl061 devices in creation order. */
async function gpioPortA(qemu: LaunchedQemu): Promise<string> {
  const children = await qemu.qmp.execute<Array<{ name: string; type: string }>>('qom-list', { path: '/machine/unattached' });
  const ports = children
    .filter((c) => c.type === 'child<pl061_luminary>')
    .map((c) => Number(/\[(\d+)\]/.exec(c.name)![1]))
    .sort((a, b) => a - b);
  expect(ports).toHaveLength(7);
  return `/machine/unattached/device[${ports[0]}]`;
}
