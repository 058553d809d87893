// Faults real QEMU cannot be made to produce on demand: a peer that closes the socket half-way
// through a message, or floods us. Each must fail what waits with an error that names what
// happened, within a bounded time, and keep memory bounded. (test/integration/faults.test.ts has
// the ones real QEMU can do.)
import { createConnection, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionClosedError, ProtocolError } from '../../packages/core/src/errors.js';
import { GdbClient } from '../../packages/core/src/gdb/gdb-client.js';
import { QmpClient } from '../../packages/core/src/qmp/qmp-client.js';
import { QtestClient } from '../../packages/core/src/qtest/qtest-client.js';
import { SerialCapture } from '../../packages/core/src/serial/serial-capture.js';
import { FakeQmpServer } from '../support/fake-qmp-server.js';
import { FakeSocketServer, gdbPeer, qtestPeer } from '../support/fake-socket-server.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function server(onConnection: (socket: Socket) => void): Promise<FakeSocketServer> {
  const fake = await FakeSocketServer.start(onConnection);
  cleanups.push(() => fake.close());
  return fake;
}

/** The error `work` fails with, and how long it took. */
async function failure(work: Promise<unknown>): Promise<{ error: Error; ms: number }> {
  const start = Date.now();
  const error = await work.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: Error) => err,
  );
  return { error, ms: Date.now() - start };
}

describe('a socket closing half-way through a message', () => {
  for (const how of ['end', 'destroy'] as const) {
    it(`QMP (${how === 'end' ? 'FIN' : 'reset'}): the pending command fails at once, naming the cut-off message`, async () => {
      const fake = await FakeQmpServer.start();
      cleanups.push(() => fake.close());
      const qmp = await QmpClient.connect(fake.path, { commandTimeoutMs: 10_000 });
      cleanups.push(() => qmp.close());
      const peer = await fake.nextPeer();
      const pending = qmp.execute('query-status');
      const command = await peer.nextCommand('query-status');
      await peer.write(`{"return": {"status": "runn`);
      void (how === 'end' ? peer.end() : peer.destroy());
      const { error, ms } = await failure(pending);
      expect(error).toBeInstanceOf(ConnectionClosedError);
      expect(error.message).toMatch(/QMP command 'query-status' aborted: QMP connection to .* ended/);
      if (how === 'end') expect(error.message).toMatch(/stream ended inside a JSON message \(\d+ bytes buffered\)/);
      expect(ms).toBeLessThan(1000);
      expect(command.id).toBeUndefined(); // alone in flight: no id (qmp-client.ts)
      expect((await qmp.closed).by).not.toBe('local');
    });
  }

  it('qtest: the pending command fails at once, saying the reply was cut off', async () => {
    const fake = await server(qtestPeer((_line, socket) => socket.end('OK 0x12')));
    const qtest = await QtestClient.connect(fake.path, { timeoutMs: 10_000 });
    cleanups.push(() => qtest.close());
    const { error, ms } = await failure(qtest.readl(0x2000_0000));
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error.message).toMatch(
      /qtest command 'readl 0x20000000' not answered: .* closed the connection in the middle of a reply \("OK 0x12"\)/,
    );
    expect(ms).toBeLessThan(1000);
  });

  it('gdbstub: the pending request fails at once, naming the connection that closed', async () => {
    const fake = await server(gdbPeer((_packet, socket) => socket.end('$E0')));
    const gdb = await GdbClient.connect(fake.path, { timeoutMs: 10_000 });
    cleanups.push(() => gdb.close());
    const { error, ms } = await failure(gdb.request('m20000000,4'));
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error.message).toMatch(/gdb packet 'm20000000,4' not answered: .* closed the connection/);
    expect(ms).toBeLessThan(1000);
  });
});

describe('a peer that floods', () => {
  it('serial: a 32 MiB flood through a real socket keeps the capture at its bound', { timeout: 30_000 }, async () => {
    const chunk = Buffer.alloc(64 << 10, 'x');
    const fake = await server((socket) => {
      let sent = 0;
      const pump = (): void => {
        while (sent < 32 << 20) {
          sent += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
        socket.end('\nEND');
      };
      pump();
    });
    const capture = new SerialCapture();
    const socket = createConnection(fake.path);
    cleanups.push(async () => socket.destroy());
    capture.attach(socket);
    const heapBefore = process.memoryUsage().heapUsed;
    await capture.waitFor('END', { timeoutMs: 20_000 });
    expect(capture.totalChars).toBe((32 << 20) + 4);
    expect(capture.text.length).toBe(1 << 20);
    expect(capture.droppedChars).toBe(capture.totalChars - (1 << 20));
    expect(capture.text.endsWith('x\nEND')).toBe(true);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 << 20);
  });

  it('qtest: a line that never ends closes the connection at the line bound instead of growing', async () => {
    const fake = await server(qtestPeer((_line, socket) => socket.write(Buffer.alloc(4 << 20, 'A'))));
    const qtest = await QtestClient.connect(fake.path, { timeoutMs: 10_000 });
    cleanups.push(() => qtest.close());
    const { error } = await failure(qtest.readl(0));
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error.cause).toBeInstanceOf(ProtocolError);
    expect(error.message).toMatch(/qtest line longer than \d+ bytes/);
  });
});
