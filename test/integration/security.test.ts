// What other local users and the guest can and cannot do to us (launch.test.ts already covers the
// 0700 dir, loopback TCP addresses, and kernel paths with spaces, quotes and commas).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectSocket } from '../../packages/core/src/transport/connect.js';
import { commandLineOf, LOOPBACK_V4_HEX, parentOf, tcpListenersOf } from '../support/processes.js';
import { scratchDir } from '../support/scratch.js';
import { withQemu } from '../support/with-qemu.js';

describe('sockets', () => {
  it('all live in the private dir, which only we can enter; QEMU listens on no TCP port', () =>
    withQemu({}, async (qemu) => {
      const dir = statSync(qemu.addresses.dir);
      expect(dir.mode & 0o777).toBe(0o700);
      expect(dir.uid).toBe(process.getuid!());
      const sockets = readdirSync(qemu.addresses.dir).sort();
      expect(sockets).toEqual(['gdb.sock', 'plugin.sock', 'qmp.sock', 'qtest.sock', 'serial.sock']);
      for (const name of sockets) expect(statSync(join(qemu.addresses.dir, name)).isSocket()).toBe(true);
      expect(tcpListenersOf(qemu.process.pid!)).toEqual([]);
    }));

  it('with tcp: true, every port QEMU listens on is bound to loopback only', () =>
    withQemu({ tcp: true }, async (qemu) => {
      const listeners = tcpListenersOf(qemu.process.pid!);
      const ports = [qemu.addresses.qmp, qemu.addresses.qtest, qemu.addresses.gdb, qemu.addresses.serial].map((a) =>
        a?.kind === 'tcp' ? a.port : -1,
      );
      expect(listeners.map((l) => l.port).sort()).toEqual([...ports].sort());
      for (const listener of listeners) expect(listener).toMatchObject({ family: 4, ip: LOOPBACK_V4_HEX });
      // From any other address of this machine, nothing answers.
      const external = Object.values(networkInterfaces())
        .flat()
        .find((i) => i && i.family === 'IPv4' && !i.internal);
      if (external) {
        await expect(connectSocket({ kind: 'tcp', host: external.address, port: ports[0]! }, { timeoutMs: 1000 })).rejects.toThrow(
          /ECONNREFUSED|no answer/,
        );
      }
    }));

  it('works from a temp dir whose path has spaces and quotes', async () => {
    const odd = await scratchDir('qf tmp \'with\' "quotes" ');
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = odd;
    try {
      await withQemu({}, async (qemu) => {
        expect(qemu.addresses.dir.startsWith(odd)).toBe(true);
        await qemu.cont();
        await qemu.serial.waitFor('done');
      });
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });
});

describe('starting QEMU', () => {
  it('runs QEMU directly, with its arguments verbatim: shell syntax in them is just text', async () => {
    const dir = await scratchDir('qf-noshell-');
    const pwned = join(dir, 'pwned');
    const name = `$(touch ${pwned}); \`touch ${pwned}\` | touch ${pwned} && echo "it's" > ${pwned}`;
    await withQemu({ args: ['-name', name] }, async (qemu) => {
      const argv = commandLineOf(qemu.process.pid!);
      // setpriv (when used) has exec'd QEMU in place: the process we started *is* QEMU, no shell in between.
      expect(argv.slice(-qemu.commandLine.length)).toEqual(qemu.commandLine);
      expect(argv).toContain(name);
      expect(parentOf(qemu.process.pid!)).toBe(process.pid);
      expect(await qemu.getQomProperty('/machine', 'type')).toMatch(/mps2-an385/);
    });
    expect(existsSync(pwned)).toBe(false);
  });
});

describe('what the guest prints', () => {
  it('is only stored: protocol commands and terminal escapes on the UART do nothing, and are not logged', async () => {
    const logged: string[] = [];
    await withQemu({ verbose: 2, log: (line) => logged.push(line) }, async (qemu) => {
      await qemu.write(qemu.symbol('run_ticks'), 0, 4);
      await qemu.cont();
      await qemu.serial.waitFor('auth: '); // the firmware has set the UART up
      await qemu.stop();
      // Make the UART transmit, byte by byte, what would hurt if anything interpreted it.
      const evil = '{"execute":"quit"}\r\nOK\nset_irq_in /machine x 0 1\n\u001b]0;pwned\u0007\u001b[2J\u0000\u00ff';
      for (const byte of Buffer.from(evil, 'latin1')) await qemu.writePhysical(0x4000_4000, byte, 1);
      await qemu.serial.waitFor('\ufffd');
      expect(qemu.serial.text.endsWith(evil.replace('\u00ff', '\ufffd'))).toBe(true); // bytes are decoded as UTF-8 text, nothing more
      expect(qemu.process.exitInfo).toBeUndefined();
      expect((await qemu.status()).status).toBe('paused');
    });
    expect(logged.some((line) => line.includes('pwned'))).toBe(false);
  });
});
