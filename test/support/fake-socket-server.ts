/**
 * A unix socket server in a private temp dir whose connections a test scripts by hand: for peers
 * speaking qtest's or gdb's protocol badly on purpose (a QMP one is in fake-qmp-server.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePacket, RspDecoder } from '../../packages/core/src/gdb/rsp-codec.js';

export class FakeSocketServer {
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    readonly path: string,
  ) {}

  /** Listens; `onConnection` gets each client socket (errors on it are ignored: tests hang up rudely). */
  static async start(onConnection: (socket: Socket) => void): Promise<FakeSocketServer> {
    const dir = await mkdtemp(join(tmpdir(), 'qf-fake-'));
    const path = join(dir, 'peer.sock');
    let fake: FakeSocketServer | undefined;
    const server = createServer((socket) => {
      fake?.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => fake?.sockets.delete(socket));
      onConnection(socket);
    });
    fake = new FakeSocketServer(server, dir, path);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    return fake;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Calls `onLine` for each complete line a client sends (qtest's framing). */
export function onLines(socket: Socket, onLine: (line: string) => void): void {
  let partial = '';
  socket.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('latin1')).split('\n');
    partial = lines.pop()!;
    for (const line of lines) onLine(line);
  });
}

/** A qtest peer that answers the client's handshake (`endianness`) and hands later lines to `respond`. */
export function qtestPeer(respond: (line: string, socket: Socket) => void): (socket: Socket) => void {
  return (socket) => onLines(socket, (line) => (line === 'endianness' ? socket.write('OK little\n') : respond(line, socket)));
}

/**
 * A gdbstub peer that acknowledges every packet, answers the client's handshake as a stub without
 * a target description, and hands later packets to `respond`.
 */
export function gdbPeer(respond: (packet: string, socket: Socket) => void): (socket: Socket) => void {
  return (socket) => {
    const decoder = new RspDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        if (event.kind !== 'packet') continue;
        socket.write('+');
        const packet = event.payload.toString('latin1');
        if (packet.startsWith('qSupported')) socket.write(encodePacket('PacketSize=1000'));
        else if (packet === '?') socket.write(encodePacket('S05'));
        else respond(packet, socket);
      }
    });
  };
}
