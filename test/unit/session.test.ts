// The session base on its own, through the kind of channel the plugin's will be: we listen, the
// peer connects, greets with an event, answers `<id> ok|err <text>` in any order and sends
// `! <event>` lines in between. The clients built on it have their own tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConnectionClosedError,
  ProtocolError,
  QemuExitedError,
  type QemuFaultError,
  TimeoutError,
} from '../../packages/core/src/errors.js';
import { LineReader } from '../../packages/core/src/transport/line-reader.js';
import { type ExplainLostConnection, type RunState, Session } from '../../packages/core/src/transport/session.js';
import { FakeSocketServer, onLines } from '../support/fake-socket-server.js';

type Reply = { ok: boolean; text: string };

/** The channel under test: a line protocol over an accepted socket, ids chosen by us. */
class LineChannel extends Session<string, Reply> {
  readonly events: string[] = [];
  private nextId = 1;

  static async start(accepted: Socket, options: { timeoutMs?: number; explain?: ExplainLostConnection } = {}): Promise<LineChannel> {
    const channel = new LineChannel(accepted, {
      protocol: 'line',
      address: 'test socket',
      decoder: new LineReader(1024, { what: 'test line' }),
      explainLostConnection: options.explain,
    });
    await channel.begin({ timeoutMs: options.timeoutMs ?? 1000 });
    return channel;
  }

  async command(text: string, timeoutMs = 1000): Promise<string> {
    const id = this.nextId++;
    const reply = await this.exchange(`command '${text}'`, `${id} ${text}\n`, { id, timeoutMs, onTimeout: 'keep' });
    if (!reply.ok) throw new ProtocolError(`refused: ${reply.text}`);
    return reply.text;
  }

  protected async handshake(): Promise<void> {
    await this.exchange('hello', undefined, { id: 0 });
  }

  protected receive(line: string): void {
    if (line.startsWith('! hello')) this.answer({ ok: true, text: line }, 0);
    else if (line.startsWith('! ')) this.events.push(line.slice(2));
    else {
      const reply = /^(\d+) (ok|err)(?: (.*))?$/.exec(line);
      if (!reply) throw new ProtocolError(`unexpected line: ${JSON.stringify(line)}`);
      // A reply to a request that timed out finds nobody waiting: ignored.
      this.answer({ ok: reply[2] === 'ok', text: reply[3] ?? '' }, Number(reply[1]));
    }
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** Listens as we would for the plugin; `peer` plays the plugin on the connecting socket. */
async function serve(peer: (socket: Socket) => void, options: Parameters<typeof LineChannel.start>[1] = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'qf-session-'));
  const path = join(dir, 'line.sock');
  const accepted = new Promise<Socket>((resolve) => {
    const server = createServer(resolve);
    server.listen(path);
    cleanups.push(async () => {
      await new Promise((done) => server.close(done));
      await rm(dir, { recursive: true, force: true });
    });
  });
  const plugin = createConnection(path);
  plugin.on('error', () => undefined);
  cleanups.push(async () => plugin.destroy());
  peer(plugin);
  const channel = await LineChannel.start(await accepted, options);
  cleanups.push(() => channel.close());
  return { channel, plugin };
}

/** A peer that greets, then answers each `<id> <text>` line through `respond`. */
function greeter(respond: (id: string, text: string, socket: Socket) => void): (socket: Socket) => void {
  return (socket) => {
    socket.write('! hello api=1\n');
    onLines(socket, (line) => {
      const [id = '', ...words] = line.split(' ');
      respond(id, words.join(' '), socket);
    });
  };
}

describe('a session on an accepted socket', () => {
  it('greets, matches replies by id in any order, and keeps events apart', async () => {
    const { channel } = await serve(
      greeter((id, text, socket) => {
        if (text === 'slow') setTimeout(() => socket.write(`${id} ok slow done\n`), 20);
        else socket.write(`! tick ${id}\n${id} ${text === 'bad' ? 'err no such thing' : `ok ${text}`}\n`);
      }),
    );
    expect(channel.state).toBe('running');
    const slow = channel.command('slow');
    await expect(channel.command('fast')).resolves.toBe('fast');
    await expect(channel.command('bad')).rejects.toThrow(/refused: no such thing/);
    await expect(slow).resolves.toBe('slow done');
    expect(channel.events).toEqual(['tick 2', 'tick 3']);
  });

  it('goes connecting, running, disconnecting, closed', async () => {
    const { channel } = await serve(greeter(() => undefined));
    const states: RunState[] = [channel.state];
    const closing = channel.close();
    states.push(channel.state);
    await closing;
    states.push(channel.state);
    expect(states).toEqual(['running', 'disconnecting', 'closed']);
    expect(channel.isClosed).toBe(true);
    await expect(channel.closed).resolves.toEqual({ by: 'local', reason: 'closed by the client' });
  });

  it('fails a handshake that does not finish in time with a TimeoutError, and ends the session', async () => {
    const started = Date.now();
    const error = await serve(() => undefined, { timeoutMs: 100 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe('line handshake with test socket timed out after 100 ms');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('fails a handshake that the peer breaks with its ProtocolError', async () => {
    const error = await serve((socket) => socket.write('nonsense\n')).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(/unexpected line: "nonsense"/);
  });

  it('ends with a ProtocolError at the line bound when the peer never ends a line, holding no more', async () => {
    const { channel } = await serve(greeter((_id, _text, socket) => socket.write('x'.repeat(64 * 1024))));
    const error = await channel.command('flood').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect((error as Error).message).toBe(
      "command 'flood' not answered: line connection to test socket ended (test line longer than 1024 bytes)",
    );
    expect((error as Error).cause).toBeInstanceOf(ProtocolError);
    expect(await channel.closed).toMatchObject({ by: 'error', reason: 'test line longer than 1024 bytes' });
  });

  it('says where the peer cut a reply when it hangs up', async () => {
    const { channel } = await serve(greeter((id, _text, socket) => socket.end(`${id} ok half`)));
    await expect(channel.command('x')).rejects.toThrow(
      'command \'x\' not answered: line connection to test socket ended (test socket closed the connection in the middle of a reply ("1 ok half"))',
    );
    expect((await channel.closed).by).toBe('peer');
  });

  it('keeps the session after a timeout when replies carry ids, and ignores the late reply', async () => {
    const { channel } = await serve(
      greeter((id, text, socket) => setTimeout(() => socket.write(`${id} ok ${text}\n`), text === 'late' ? 100 : 0)),
    );
    await expect(channel.command('late', 50)).rejects.toBeInstanceOf(TimeoutError);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(channel.isClosed).toBe(false);
    await expect(channel.command('next')).resolves.toBe('next');
  });

  it('explains requests lost with the connection, pending and later ones, but not after a local close', async () => {
    const explained: string[] = [];
    const explain = async (lost: ConnectionClosedError): Promise<QemuFaultError> => {
      explained.push(lost.message);
      return new QemuExitedError(`QEMU was killed; ${lost.message}`, { cause: lost });
    };
    const { channel, plugin } = await serve(
      greeter(() => plugin.destroy()),
      { explain },
    );
    const pending = await channel.command('a').catch((err: unknown) => err);
    expect(pending).toBeInstanceOf(QemuExitedError);
    expect((pending as Error).message).toMatch(/^QEMU was killed; command 'a' not answered: line connection to test socket ended/);
    await expect(channel.command('b')).rejects.toThrow(/^QEMU was killed; command 'b' not sent/);
    expect(explained).toHaveLength(2);

    const local = await serve(
      greeter(() => undefined),
      { explain },
    );
    await local.channel.close();
    await expect(local.channel.command('c')).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(explained).toHaveLength(2);
  });

  it('resolves closed for a socket that closed before it was handed over', async () => {
    const fake = await FakeSocketServer.start((socket) => socket.destroy());
    cleanups.push(() => fake.close());
    const socket = createConnection(fake.path);
    await new Promise((resolve) => socket.once('close', resolve));
    const error = await LineChannel.start(socket).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConnectionClosedError);
  });
});
