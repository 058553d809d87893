import { spawn } from 'node:child_process';
import { copyFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ChannelUnavailableError,
  ConnectionError,
  ElfFormatError,
  FaultInjectionFramework,
  InvalidArgumentError,
  LaunchError,
  launch,
  ReadyTimeoutError,
} from '@qemu-fault/core';
import { describe, expect, it } from 'vitest';
import { compileSharedObject } from '../../packages/core/src/plugin/compile.js';
import { firmware } from '../support/firmware.js';
import { qemuBinary } from '../support/qemus.js';
import { afterThisTest, scratchDir } from '../support/scratch.js';
import { untilListening } from '../support/spawn-qemu.js';
import { withQemu } from '../support/with-qemu.js';

describe('launch', () => {
  it('starts QEMU paused with every channel in a private 0700 dir, and close() removes it', async () => {
    const qemu = await launch({ machine: 'mps2-an385', kernel: firmware() });
    try {
      expect(await qemu.status()).toEqual({ running: false, status: 'prelaunch' });
      const mode = (await stat(qemu.addresses.dir)).mode & 0o777;
      expect(mode).toBe(0o700);
      for (const address of [qemu.addresses.qmp, qemu.addresses.qtest, qemu.addresses.gdb, qemu.addresses.serial]) {
        expect(address).toMatchObject({ kind: 'unix', path: expect.stringContaining(qemu.addresses.dir) });
      }
      expect(qemu.commandLine).toContain('-S');
      expect(qemu.version).toMatch(/^\d+\.\d+\.\d+$/);
    } finally {
      await qemu.close();
    }
    await qemu.close(); // idempotent
    expect(qemu.process.exitInfo).toEqual({ exitCode: 0, signal: undefined });
    await expect(stat(qemu.addresses.dir)).rejects.toThrow(/ENOENT/);
  });

  it('closes cleanly after the guest has exited by itself', () =>
    withQemu({}, async (qemu) => {
      await qemu.cont();
      expect((await qemu.process.exited).exitCode).toBe(0);
    }));

  it('listens on loopback TCP when asked', () =>
    withQemu({ tcp: true }, async (qemu) => {
      expect(qemu.addresses.qmp).toMatchObject({ kind: 'tcp', host: '127.0.0.1' });
      expect(qemu.addresses.gdb).toMatchObject({ kind: 'tcp', host: '127.0.0.1' });
      await qemu.write(qemu.symbol('scratch'), 42, 4);
      expect(await qemu.readPhysical(qemu.symbol('scratch'), 4)).toBe(42);
    }));

  it('takes paths with spaces, quotes and commas, without a shell', async () => {
    const dir = await scratchDir('qf path with \'quotes\', "and" commas ');
    const kernel = join(dir, 'fault demo,v1.elf');
    await copyFile(firmware(), kernel);
    await withQemu({ kernel }, async (qemu) => {
      await qemu.cont();
      await qemu.serial.waitFor('done');
    });
  });

  it('says which binary is missing', async () => {
    const err = await launch({ machine: 'mps2-an385', qemu: 'qemu-system-nonexistent' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LaunchError);
    expect((err as Error).message).toContain("'qemu-system-nonexistent' was not found");
  });

  it('quotes QEMU when it refuses its arguments', async () => {
    const err = await launch({ machine: 'mps2-an385', args: ['-no-such-option'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LaunchError);
    expect((err as LaunchError).stderrTail).toContain('-no-such-option');
    expect((err as LaunchError).exitCode).toBe(1);
    expect((err as Error).message).toMatch(/QEMU exited before it was ready \(QEMU exited with code 1\)/);

    const machine = await launch({ machine: 'no-such-board' }).catch((e: unknown) => e);
    expect(machine).toBeInstanceOf(LaunchError);
    expect((machine as LaunchError).stderrTail).toMatch(/unsupported machine type|no-such-board/i);
  });

  it('fails on its one start-up limit, readyTimeoutMs, naming it and how to raise it', async () => {
    const err = await launch({ machine: 'mps2-an385', kernel: firmware(), readyTimeoutMs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadyTimeoutError);
    expect(err).toMatchObject({ code: 'READY_TIMEOUT', option: 'readyTimeoutMs', timeoutMs: 1 });
    expect((err as Error).message).toMatch(
      /was not ready within readyTimeoutMs \(1 ms\).*raise it: pass a larger readyTimeoutMs to launch\(\)/,
    );
  });

  it('opens a human monitor on request, which run control and hmp() use', () =>
    withQemu({ channels: { hmp: true } }, async (qemu) => {
      expect(qemu.addresses.hmp).toMatchObject({ kind: 'unix', path: expect.stringContaining(qemu.addresses.dir) });
      expect(await qemu.hmp('info status')).toMatch(/^VM status: paused/);
      // Two commands in one line would leave the monitor's answers one behind.
      await expect(qemu.hmp('info status\ninfo status')).rejects.toBeInstanceOf(InvalidArgumentError);
      await qemu.cont();
      expect(await qemu.hmp('info status')).toMatch(/^VM status: running/);
      await qemu.stop();
      expect(await qemu.status()).toEqual({ running: false, status: 'paused' });
    }));

  it('rejects a kernel that is not an ELF file', async () => {
    await expect(launch({ machine: 'mps2-an385', kernel: '/nonexistent/fw.elf' })).rejects.toBeInstanceOf(ElfFormatError);
    await expect(launch({ machine: 'mps2-an385', kernel: '/etc/hostname' })).rejects.toThrow(/no ELF magic/);
    await expect(launch({} as never)).rejects.toThrow(/needs a `machine`/);
  });
});

describe('connect: attaching to a QEMU started by hand', () => {
  /** Starts QEMU the way the original framework's users did, with only a QMP socket. */
  async function handStartedQemu(extra: string[] = []): Promise<string> {
    const dir = await scratchDir('qf-hand-');
    const qmp = join(dir, 'qmp-sock');
    const child = spawn(
      qemuBinary(),
      [
        '-M',
        'mps2-an385',
        '-kernel',
        firmware(),
        '-S',
        '-display',
        'none',
        '-nodefaults',
        '-qmp',
        `unix:${qmp},server=on,wait=off`,
        ...extra.map((a) => a.replaceAll('DIR', dir)),
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    afterThisTest(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    await untilListening(qmp);
    return qmp;
  }

  it('reads through HMP and says what needs the side channels', async () => {
    const qmp = await handStartedQemu();
    const fw = await FaultInjectionFramework.connect(qmp, { kernel: firmware() });
    try {
      const scratch = fw.symbol('scratch');
      expect(await fw.read(scratch, 4)).toBe(0);
      expect(await fw.read(0xe000ed00, 4)).toBe(0x410fc231);
      await expect(fw.write(scratch, 1, 4)).rejects.toBeInstanceOf(ChannelUnavailableError);
      await expect(fw.setGpio('/machine', null, 0, 1)).rejects.toThrow();
      expect(() => fw.serial).toThrow(ChannelUnavailableError);
      expect(fw.help()).toContain('qtest: no');
      expect(await fw.status()).toMatchObject({ running: false });
    } finally {
      await fw.close();
    }
  });

  it('uses the side channels it is given', async () => {
    const qmp = await handStartedQemu([
      '-accel',
      'tcg',
      '-qtest',
      'unix:DIR/qtest,server=on,wait=off',
      '-qtest-log',
      '/dev/null',
      '-gdb',
      'unix:DIR/gdb,server=on,wait=off',
    ]);
    const dir = join(qmp, '..');
    const fw = await FaultInjectionFramework.connect(qmp, { qtest: join(dir, 'qtest'), gdb: join(dir, 'gdb') });
    try {
      await fw.write(0x2000_0200, 0x1234_5678, 4);
      expect(await fw.readPhysical(0x2000_0200, 4)).toBe(0x1234_5678);
      expect(() => fw.symbol('scratch')).toThrow(ChannelUnavailableError);
    } finally {
      await fw.close();
    }
  });

  it('fails clearly on an unreachable socket', async () => {
    const err = await FaultInjectionFramework.connect('/nonexistent/qmp-sock', { timeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toMatch(/\/nonexistent\/qmp-sock.*ENOENT/);
  });
});

describe('launch errors carry QEMU’s own words, at every stage of its start-up', () => {
  async function refusal(args: string[], qemu = qemuBinary()): Promise<LaunchError> {
    const err = await launch({ machine: 'mps2-an385', kernel: firmware(), qemu, args }).then(
      async (q) => {
        await q.close();
        throw new Error('QEMU started');
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LaunchError);
    return err as LaunchError;
  }

  it('a plugin QEMU cannot load (after QEMU created its sockets)', async () => {
    expect((await refusal(['-plugin', '/nonexistent.so'])).message).toMatch(/Could not load plugin \/nonexistent\.so/);
  });

  it('a plugin QEMU refuses for its API version', async () => {
    const dir = await scratchDir('qf-refused-');
    const source = join(dir, 'future.c');
    await writeFile(
      source,
      '#define EXPORT __attribute__((visibility("default")))\nEXPORT int qemu_plugin_version = 999;\nEXPORT int qemu_plugin_install(void) { return 0; }\n',
    );
    const so = join(dir, 'future.so');
    await compileSharedObject(process.env['CC'] ?? 'cc', [source], so, []);
    const err = await refusal(['-plugin', so]);
    expect(err.message).toMatch(/Could not load plugin .*future\.so: plugin requires API version 999/);
    expect(err.stderrTail).toMatch(/Could not load plugin/);
  });

  it('a binary for another target', async () => {
    const riscv = qemuBinary('riscv32');
    expect((await refusal([], riscv)).message).toMatch(/unsupported machine type/);
  });
});
