/**
 * An in-process stand-in for QEMU's QMP monitor, on a unix socket in a private temp dir.
 * Tests script it byte by byte: what to greet with, how to split writes, when to hang up.
 * It splits what the client sends with its own tiny brace matcher, independently of the code under test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** What QEMU 7.2 (Debian) actually sends first. */
export const QEMU_GREETING = {
  QMP: {
    version: { qemu: { micro: 22, minor: 2, major: 7 }, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' },
    capabilities: ['oob'],
  },
};

export interface FakeCommand {
  execute: string;
  arguments?: unknown;
  id?: unknown;
  /** The request exactly as received. */
  raw: string;
}

export interface FakeServerOptions {
  /** Sent on connect: an object (as JSON + CRLF, like QEMU), raw text, or `null` for silence. Default {@link QEMU_GREETING}. */
  greeting?: object | string | null;
  /** Answer `qmp_capabilities` with `{"return": {}}` by itself (default true). */
  autoNegotiate?: boolean;
}

/** Serialises like QEMU: one message per line, CRLF-terminated. */
export function qmpLine(message: object): string {
  return `${JSON.stringify(message)}\r\n`;
}

/** A QMP event as QEMU would send it. */
export function qmpEvent(event: string, data?: Record<string, unknown>): object {
  const timestamp = { seconds: 1_700_000_000, microseconds: 123_456 };
  return data === undefined ? { timestamp, event } : { timestamp, event, data };
}

/** One accepted client connection, as seen from the server. */
export class FakePeer {
  /** Every command received, in order. */
  readonly received: FakeCommand[] = [];
  /** Resolves when the client's socket is gone. */
  readonly closed: Promise<void>;
  private readonly waiters: Array<{ name: string | undefined; resolve(c: FakeCommand): void }> = [];
  private readonly unclaimed: FakeCommand[] = [];
  private partial = '';
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(
    readonly socket: Socket,
    private readonly options: Required<FakeServerOptions>,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {}); // the client may hang up abruptly; that is what several tests do
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => this.onData(text));
    const { greeting } = options;
    if (greeting !== null) socket.write(typeof greeting === 'string' ? greeting : qmpLine(greeting));
  }

  /** Resolves with the next command (named `name`, if given) the client sends; rejects after `timeoutMs`. */
  nextCommand(name?: string, timeoutMs = 2000): Promise<FakeCommand> {
    const i = this.unclaimed.findIndex((c) => name === undefined || c.execute === name);
    if (i >= 0) return Promise.resolve(this.unclaimed.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = {
        name,
        resolve: (c: FakeCommand) => {
          clearTimeout(timer);
          resolve(c);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`fake QMP server: no '${name ?? 'any'}' command within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Writes raw bytes/text exactly as given. */
  write(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** Writes messages (objects become JSON lines; strings are raw) in one single write. */
  send(...messages: Array<object | string>): Promise<void> {
    return this.write(messages.map((m) => (typeof m === 'string' ? m : qmpLine(m))).join(''));
  }

  /** Writes `data` in pieces of `pieceBytes` bytes, pausing `delayMs` between them so they arrive as separate chunks. */
  async sendInPieces(data: string | Uint8Array, pieceBytes: number, delayMs = 2): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    for (let off = 0; off < bytes.length; off += pieceBytes) {
      await this.write(bytes.subarray(off, off + pieceBytes));
      await sleep(delayMs);
    }
  }

  reply(command: FakeCommand, value: unknown = {}): Promise<void> {
    return this.send({ return: value, id: command.id });
  }

  replyError(command: FakeCommand, errorClass: string, desc: string): Promise<void> {
    return this.send({ id: command.id, error: { class: errorClass, desc } });
  }

  event(name: string, data?: Record<string, unknown>): Promise<void> {
    return this.send(qmpEvent(name, data));
  }

  /** Closes our side cleanly (FIN). */
  end(): Promise<void> {
    this.socket.end();
    return this.closed;
  }

  /** Drops the connection at once. */
  destroy(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  /** QEMU does not need newlines between requests (and our client sends none), so split on balanced braces. */
  private onData(text: string): void {
    for (const ch of text) {
      if (this.depth === 0 && ch !== '{') continue; // whitespace between requests
      this.partial += ch;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
      } else if (ch === '"') this.inString = true;
      else if (ch === '{' || ch === '[') this.depth++;
      else if (ch === '}' || ch === ']') this.depth--;
      if (this.depth === 0) {
        this.onCommand(this.partial);
        this.partial = '';
      }
    }
  }

  private onCommand(raw: string): void {
    const parsed = JSON.parse(raw) as Omit<FakeCommand, 'raw'>;
    const command: FakeCommand = { ...parsed, raw };
    this.received.push(command);
    if (command.execute === 'qmp_capabilities' && this.options.autoNegotiate) {
      void this.reply(command).catch(() => {});
      return;
    }
    const i = this.waiters.findIndex((w) => w.name === undefined || w.name === command.execute);
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(command);
    else this.unclaimed.push(command);
  }
}

export class FakeQmpServer {
  private readonly peers: FakePeer[] = [];
  private readonly accepted: Array<(peer: FakePeer) => void> = [];
  private readonly backlog: FakePeer[] = [];

  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    /** The unix socket path to connect to. */
    readonly path: string,
  ) {}

  /** Listens on `<fresh temp dir>/qmp.sock`. Always pair with {@link close}. */
  static async start(options: FakeServerOptions = {}): Promise<FakeQmpServer> {
    const settings: Required<FakeServerOptions> = {
      greeting: options.greeting === undefined ? QEMU_GREETING : options.greeting,
      autoNegotiate: options.autoNegotiate ?? true,
    };
    const dir = await mkdtemp(join(tmpdir(), 'qf-fakeqmp-'));
    const path = join(dir, 'qmp.sock');
    const server = createServer();
    const fake = new FakeQmpServer(server, dir, path);
    server.on('connection', (socket) => fake.onConnection(new FakePeer(socket, settings)));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return fake;
  }

  /** The next client connection (already greeted, per the options). */
  nextPeer(timeoutMs = 2000): Promise<FakePeer> {
    const ready = this.backlog.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fake QMP server: no connection within ${timeoutMs} ms`)), timeoutMs);
      this.accepted.push((peer) => {
        clearTimeout(timer);
        resolve(peer);
      });
    });
  }

  /** Drops every connection, stops listening and deletes the temp dir. Safe to call twice. */
  async close(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.destroy()));
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }

  private onConnection(peer: FakePeer): void {
    this.peers.push(peer);
    const waiter = this.accepted.shift();
    if (waiter) waiter(peer);
    else this.backlog.push(peer);
  }
}
