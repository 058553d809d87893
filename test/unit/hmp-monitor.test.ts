// The HMP monitor against a scripted readline monitor: what QEMU's looks like on the wire (a
// banner, then `(qemu) ` prompts; each command echoed before its output), and peers that misbehave.
import { mkdtemp, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConnectionClosedError,
  ConnectionError,
  InvalidArgumentError,
  ProtocolError,
  TimeoutError,
} from '../../packages/core/src/errors.js';
import { HmpMonitor } from '../../packages/core/src/hmp/hmp-monitor.js';
import { FakeSocketServer, onLines } from '../support/fake-socket-server.js';

const PROMPT = '(qemu) ';
const BANNER = "QEMU 7.2.22 monitor - type 'help' for more information\r\n";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** A monitor that greets, echoes each command as readline does, and prints what `respond` says (undefined: nothing, ever). */
async function monitor(respond: (command: string, socket: Socket) => string | undefined, greeting = `${BANNER}${PROMPT}`) {
  const received: string[] = [];
  const fake = await FakeSocketServer.start((socket) => {
    socket.write(greeting);
    onLines(socket, (command) => {
      received.push(command);
      const output = respond(command, socket);
      if (output !== undefined) socket.write(`${command}\r\n${output}${PROMPT}`);
    });
  });
  cleanups.push(() => fake.close());
  return { path: fake.path, received };
}

async function connect(path: string, timeoutMs = 1000): Promise<HmpMonitor> {
  const hmp = await HmpMonitor.connect(path, { timeoutMs });
  cleanups.push(() => hmp.close());
  return hmp;
}

describe('HmpMonitor', () => {
  it('runs commands one at a time and gives back their output without the echo', async () => {
    const { path, received } = await monitor((command) => (command === 'info status' ? 'VM status: paused\r\n' : ''));
    const hmp = await connect(path);
    expect(hmp.state).toBe('running');
    const [status, stop] = await Promise.all([hmp.execute('info status'), hmp.execute('stop')]);
    expect(status).toBe('VM status: paused');
    expect(stop).toBe('');
    expect(received).toEqual(['info status', 'stop']);
  });

  it('takes a prompt split across writes', async () => {
    const { path } = await monitor((command, socket) => {
      socket.write(`${command}\r\nsaved\r\n(qe`);
      setTimeout(() => socket.write('mu) '), 10);
      return undefined;
    });
    await expect((await connect(path)).execute('savevm s')).resolves.toBe('saved');
  });

  it('refuses a command with a line break, sending nothing', async () => {
    const { path, received } = await monitor(() => '');
    const hmp = await connect(path);
    await expect(hmp.execute('stop\nquit')).rejects.toBeInstanceOf(InvalidArgumentError);
    await hmp.execute('cont');
    expect(received).toEqual(['cont']);
  });

  it('fails with ConnectionError when nothing listens', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qf-nohmp-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await expect(HmpMonitor.connect(join(dir, 'hmp.sock'), { timeoutMs: 200 })).rejects.toBeInstanceOf(ConnectionError);
  });

  it('fails with TimeoutError when no prompt comes in time', async () => {
    const { path } = await monitor(() => '', BANNER);
    const started = Date.now();
    const error = await HmpMonitor.connect(path, { timeoutMs: 100 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(/^HMP handshake with .* timed out after 100 ms$/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('fails what waits with ConnectionClosedError, naming the command, when QEMU hangs up', async () => {
    const { path } = await monitor((_command, socket) => void socket.destroy());
    const hmp = await connect(path);
    await expect(hmp.execute('loadvm s')).rejects.toThrow(/^HMP command 'loadvm s' not answered: HMP connection to .* ended/);
    await expect(hmp.execute('cont')).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('closes at the output bound when no prompt ever comes', async () => {
    const { path } = await monitor((_command, socket) => void socket.write(Buffer.alloc(5 << 20, 'A')));
    const error = await (await connect(path)).execute('info mtree -f').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect((error as Error).cause).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(/HMP reply longer than \d+ bytes/);
  });

  it('closes when a command times out, as its late prompt would answer the next one', async () => {
    const { path } = await monitor(() => undefined);
    const hmp = await connect(path);
    await expect(hmp.execute('loadvm s', { timeoutMs: 50 })).rejects.toBeInstanceOf(TimeoutError);
    await expect(hmp.execute('cont')).rejects.toBeInstanceOf(ConnectionClosedError);
    expect((await hmp.closed).by).toBe('error');
  });
});
