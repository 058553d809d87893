/**
 * The baselines: the least code that can talk to each channel — no framing beyond what the
 * protocol needs, no validation, no timeouts. Our clients are measured against these.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';

/** Connects, retrying while QEMU has not created the socket yet. */
export async function rawConnect(path: string): Promise<Socket> {
  for (;;) {
    const socket = createConnection({ path });
    try {
      await once(socket, 'connect');
      return socket;
    } catch {
      socket.destroy();
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

/** Resolves with the next chunk(s) containing `terminator`. */
function readUntil(socket: Socket, terminator: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.includes(terminator)) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
  });
}

export class RawQmp {
  private constructor(private readonly socket: Socket) {}

  static async connect(path: string): Promise<RawQmp> {
    const socket = await rawConnect(path);
    await readUntil(socket, '\n');
    const qmp = new RawQmp(socket);
    await qmp.execute('qmp_capabilities');
    return qmp;
  }

  async execute(command: string): Promise<string> {
    const reply = readUntil(this.socket, '"return"');
    this.socket.write(JSON.stringify({ execute: command }));
    return reply;
  }

  close(): void {
    this.socket.destroy();
  }
}

export class RawQtest {
  private constructor(private readonly socket: Socket) {}

  static async connect(path: string): Promise<RawQtest> {
    return new RawQtest(await rawConnect(path));
  }

  command(line: string): Promise<string> {
    const reply = readUntil(this.socket, '\n');
    this.socket.write(`${line}\n`);
    return reply;
  }

  close(): void {
    this.socket.destroy();
  }
}

export class RawGdb {
  private constructor(private readonly socket: Socket) {}

  static async connect(path: string): Promise<RawGdb> {
    return new RawGdb(await rawConnect(path));
  }

  /** Sends one packet, acks the reply. */
  async request(payload: string): Promise<string> {
    let sum = 0;
    for (const c of Buffer.from(payload)) sum = (sum + c) & 0xff;
    const reply = readUntil(this.socket, '#');
    this.socket.write(`$${payload}#${sum.toString(16).padStart(2, '0')}`);
    const text = await reply;
    // Wait for the two checksum digits if they were not in the same chunk.
    if (!/#[0-9a-f]{2}/.test(text)) await readUntil(this.socket, '');
    this.socket.write('+');
    return text;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The bare cycle: spawn QEMU (`binary`) paused with only QMP, handshake, quit, wait for exit. */
export async function bareCycle(binary: string, qemuArgs: string[], qmpPath: string): Promise<void> {
  const child = spawn(binary, [...qemuArgs, '-qmp', `unix:${qmpPath},server=on,wait=off`], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  const qmp = await RawQmp.connect(qmpPath);
  await qmp.execute('quit');
  await exited;
  qmp.close();
}
