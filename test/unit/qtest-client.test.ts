import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionClosedError, ProtocolError, QemuExitedError, TimeoutError } from '../../packages/core/src/errors.js';
import { type IrqEvent, QtestClient, type QtestClientOptions } from '../../packages/core/src/qtest/qtest-client.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/**
 * A qtest peer that answers `endianness` and hands every later line to `respond`,
 * which writes whatever raw text it likes back.
 */
async function setup(respond: (line: string, socket: Socket) => void, options: QtestClientOptions = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'qf-fake-qtest-'));
  const path = join(dir, 'qtest.sock');
  const received: string[] = [];
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    let partial = '';
    socket.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        received.push(line);
        if (line === 'endianness') socket.write('OK little\n');
        else respond(line, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  cleanups.push(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });
  const client = await QtestClient.connect(path, { timeoutMs: 1000, ...options });
  cleanups.push(() => client.close());
  return { client, received };
}

describe('QtestClient (fake peer)', () => {
  it('matches pipelined replies in order with IRQ lines in between', async () => {
    const { client } = await setup((line, socket) => {
      if (line === 'readb 0x1') socket.write('IRQ raise 7\nOK 0x00000000000000');
      else if (line === 'readb 0x2') socket.write('01\nIRQ lower 7\nOK 0x0000000000000002\n');
    });
    const events: IrqEvent[] = [];
    client.onIrq((e) => events.push(e));
    expect(await Promise.all([client.readb(1), client.readb(2)])).toEqual([1, 2]);
    expect(events).toEqual([
      { level: 'raise', line: 7 },
      { level: 'lower', line: 7 },
    ]);
  });

  it('closes on a line that never ends, failing what waits', async () => {
    const { client } = await setup((_, socket) => socket.write('OK '.padEnd(2 * 1024 * 1024, 'A')));
    await expect(client.readl(0)).rejects.toThrow(ConnectionClosedError);
    const info = await client.closed;
    expect(info.by).toBe('error');
    expect(info.error).toBeInstanceOf(ProtocolError);
  });

  it('closes on a reply nobody asked for', async () => {
    const { client } = await setup((_, socket) => socket.write('OK\nOK\n'));
    await client.command('writeb 0x0 0x1');
    expect((await client.closed).reason).toMatch(/nobody asked for/);
  });

  it('rejects a reply that is not what the command returns', async () => {
    const { client } = await setup((line, socket) => socket.write(line.startsWith('readl') ? 'OK banana\n' : 'OK AAA\n'));
    await expect(client.readl(0)).rejects.toThrow(ProtocolError);
    await expect(client.readBytes(0, 16)).rejects.toThrow(ProtocolError);
    expect(client.isClosed).toBe(false);
  });

  it('passes commands lost with the connection through explainLostConnection', async () => {
    const explainLostConnection = async (lost: ConnectionClosedError) => new QemuExitedError(`QEMU exited; ${lost.message}`);
    const { client } = await setup((_, socket) => socket.destroy(), { explainLostConnection });
    await expect(client.readl(0)).rejects.toThrow(/^QEMU exited; qtest command 'readl 0x0' not answered/);
    await expect(client.readl(0)).rejects.toBeInstanceOf(QemuExitedError);
  });

  it('fails a peer that accepts but never answers with a TimeoutError in the connect time limit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qf-silent-qtest-'));
    const server = createServer((socket) => socket.on('error', () => undefined).resume());
    await new Promise<void>((resolve) => server.listen(join(dir, 'qtest.sock'), resolve));
    cleanups.push(async () => {
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    });
    const error = await QtestClient.connect(join(dir, 'qtest.sock'), { timeoutMs: 100 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(/^qtest handshake with .* timed out after 100 ms \(QEMU serves one client per socket/);
  });
});
