import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConnectionClosedError,
  ConnectionError,
  InvalidArgumentError,
  ProtocolError,
  QemuExitedError,
  QmpError,
  TimeoutError,
} from '../../packages/core/src/errors.js';
import { EventHub, EventOverflowError, type QmpEvent } from '../../packages/core/src/qmp/events.js';
import { QmpClient, type QmpClientOptions } from '../../packages/core/src/qmp/qmp-client.js';
import { FakeQmpServer, type FakeServerOptions, qmpEvent, qmpLine } from '../support/fake-qmp-server.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(options?: FakeServerOptions): Promise<FakeQmpServer> {
  const server = await FakeQmpServer.start(options);
  cleanups.push(() => server.close());
  return server;
}

/** A fake server, a connected client and the server's side of that connection. */
async function setup(options: { server?: FakeServerOptions; client?: QmpClientOptions } = {}) {
  const server = await startServer(options.server);
  const traces: Array<[string, string]> = [];
  const connecting = QmpClient.connect(server.path, { trace: (d, t) => traces.push([d, t]), ...options.client });
  const peer = await server.nextPeer();
  const client = await connecting;
  cleanups.push(() => client.close());
  const protocolErrors: ProtocolError[] = [];
  client.onProtocolError((err) => protocolErrors.push(err));
  return { server, peer, client, traces, protocolErrors };
}

/** Settles a promise into a value we can assert on without racing unhandled rejections. */
function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

describe('QmpClient handshake', () => {
  it('reads the greeting, negotiates capabilities, and exposes the version', async () => {
    const { client, peer, traces } = await setup();
    expect(client.version).toEqual({ major: 7, minor: 2, micro: 22, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' });
    expect(client.greeting.QMP.capabilities).toEqual(['oob']);
    expect(peer.received).toHaveLength(1);
    expect(peer.received[0]!.execute).toBe('qmp_capabilities');
    expect(peer.received[0]!.arguments).toBeUndefined();
    expect(peer.received[0]!.id).toBeUndefined(); // alone in flight: no id (QEMU reads requests byte by byte)
    expect(traces[0]![0]).toBe('recv');
    expect(JSON.parse(traces[0]![1])).toHaveProperty('QMP');
    expect(traces[1]).toEqual(['send', peer.received[0]!.raw]);
  });

  it('fails with ConnectionError when nothing listens at the path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qf-noqmp-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'missing.sock');
    const err = await QmpClient.connect(path, { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).address).toBe(path);
    expect((err as Error).message).toContain('ENOENT');
  });

  it('times out when the peer never greets (as QEMU does for a second client)', async () => {
    const server = await startServer({ greeting: null });
    const started = Date.now();
    const err = await QmpClient.connect(server.path, { timeoutMs: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).timeoutMs).toBeGreaterThan(0);
    expect((err as Error).message).toMatch(/greeting/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('fails with ProtocolError when the first message is not a QMP greeting', async () => {
    const server = await startServer({ greeting: { hello: 'I am not QEMU' } });
    const err = await QmpClient.connect(server.path, { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as Error).message).toContain('I am not QEMU');
    const peer = await server.nextPeer();
    await peer.closed; // the client hung up rather than leaking the socket
  });

  it('fails with ProtocolError on garbage instead of a greeting', async () => {
    const server = await startServer({ greeting: 'SSH-2.0-OpenSSH_9.2\r\n' });
    const err = await QmpClient.connect(server.path, { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as Error).message).toContain('SSH-2.0');
  });

  it('fails with ConnectionClosedError when the peer hangs up before greeting', async () => {
    const server = await startServer({ greeting: null });
    const connecting = settle(QmpClient.connect(server.path, { timeoutMs: 2000 }));
    await (await server.nextPeer()).destroy();
    const result = await connecting;
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toBeInstanceOf(ConnectionClosedError);
  });

  it('fails with QmpError when capabilities negotiation is refused', async () => {
    const server = await startServer({ autoNegotiate: false });
    const connecting = settle(QmpClient.connect(server.path));
    const peer = await server.nextPeer();
    const cmd = await peer.nextCommand('qmp_capabilities');
    await peer.replyError(cmd, 'CommandNotFound', 'Capabilities negotiation is already complete, command ignored');
    const result = await connecting;
    expect(!result.ok && result.error).toBeInstanceOf(QmpError);
    expect(!result.ok && (result.error as QmpError).errorClass).toBe('CommandNotFound');
  });
});

describe('QmpClient commands', () => {
  it('sends the command with its arguments and resolves with the return value', async () => {
    const { client, peer } = await setup();
    const result = client.execute<{ status: string }>('query-status');
    const cmd = await peer.nextCommand();
    expect(cmd.execute).toBe('query-status');
    expect(cmd.arguments).toBeUndefined();
    await peer.reply(cmd, { status: 'prelaunch', running: false });
    await expect(result).resolves.toEqual({ status: 'prelaunch', running: false });

    const withArgs = client.execute('qom-get', { path: '/machine', property: 'type' });
    const cmd2 = await peer.nextCommand();
    expect(cmd2.arguments).toEqual({ path: '/machine', property: 'type' });
    await peer.reply(cmd2, 'mps2-an385-machine');
    await expect(withArgs).resolves.toBe('mps2-an385-machine');
  });

  it('matches replies to commands by id when they come back out of order', async () => {
    const { client, peer } = await setup();
    const names = ['a', 'b', 'c', 'd'];
    const results = names.map((n) => client.execute(`cmd-${n}`));
    const cmds = await Promise.all(names.map((n) => peer.nextCommand(`cmd-${n}`)));
    expect(new Set(cmds.map((c) => c.id)).size).toBe(names.length);
    // Reverse order, two of them in one write.
    await peer.send({ return: 'reply-d', id: cmds[3]!.id }, { return: 'reply-c', id: cmds[2]!.id });
    await peer.reply(cmds[0]!, 'reply-a');
    await peer.reply(cmds[1]!, 'reply-b');
    await expect(Promise.all(results)).resolves.toEqual(['reply-a', 'reply-b', 'reply-c', 'reply-d']);
  });

  it('turns an error reply into a QmpError carrying class, desc and command', async () => {
    const { client, peer } = await setup();
    const result = settle(client.execute('stop', { x: 1 }));
    await peer.replyError(await peer.nextCommand('stop'), 'GenericError', "Parameter 'x' is unexpected");
    const r = await result;
    expect(r.ok).toBe(false);
    const err = (r as { error: QmpError }).error;
    expect(err).toBeInstanceOf(QmpError);
    expect(err.errorClass).toBe('GenericError');
    expect(err.desc).toBe("Parameter 'x' is unexpected");
    expect(err.command).toBe('stop');
    expect(err.code).toBe('QMP_ERROR');
  });

  it('rejects every pending command at once when the peer disconnects, naming each command', async () => {
    const { client, peer } = await setup();
    const pending = ['query-status', 'cont', 'query-cpus-fast'].map((c) => settle(client.execute(c)));
    await peer.nextCommand('query-cpus-fast');
    const started = Date.now();
    await peer.destroy();
    const results = await Promise.all(pending);
    expect(Date.now() - started).toBeLessThan(1000); // no waiting for the 30 s command timeout
    results.forEach((r, i) => {
      expect(r.ok).toBe(false);
      const err = (r as { error: Error }).error;
      expect(err).toBeInstanceOf(ConnectionClosedError);
      expect(err.message).toContain(`'${['query-status', 'cont', 'query-cpus-fast'][i]}'`);
    });
    const info = await client.closed;
    expect(info.by).toBe('peer');
    expect(client.isClosed).toBe(true);
    await expect(client.execute('query-status')).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('also fails pending commands when the peer closes cleanly mid-command', async () => {
    const { client, peer } = await setup();
    const pending = settle(client.execute('quit'));
    await peer.nextCommand('quit');
    await peer.end();
    const r = await pending;
    expect(!r.ok && r.error).toBeInstanceOf(ConnectionClosedError);
  });

  it('times a command out, ignores its late reply, and keeps working', async () => {
    const { client, peer, traces } = await setup({ client: { commandTimeoutMs: 60_000 } });
    const slow = settle(client.execute('query-status', undefined, { timeoutMs: 50 }));
    const cmd = await peer.nextCommand('query-status');
    const r = await slow;
    expect(!r.ok && r.error).toBeInstanceOf(TimeoutError);
    expect((r as { error: TimeoutError }).error.timeoutMs).toBe(50);
    expect((r as { error: Error }).error.message).toContain("'query-status'");

    await peer.reply(cmd, { late: true });
    const next = client.execute('query-name');
    await peer.reply(await peer.nextCommand('query-name'), { name: 'vm' });
    await expect(next).resolves.toEqual({ name: 'vm' });
    expect(traces.some(([, t]) => t.includes('ignored') && t.includes('late reply'))).toBe(true);
    expect(client.isClosed).toBe(false);
  });

  it('sends a command alone without an id and takes the reply without one, error or not, as its answer', async () => {
    const { client, peer } = await setup();
    const ok = client.execute('query-status');
    const cmd = await peer.nextCommand('query-status');
    expect(cmd.raw).toBe('{"execute":"query-status"}');
    await peer.send({ return: { running: false } });
    await expect(ok).resolves.toEqual({ running: false });
    const failing = settle(client.execute('no-such-command'));
    await peer.nextCommand('no-such-command');
    await peer.send({ error: { class: 'CommandNotFound', desc: 'The command no-such-command has not been found' } });
    expect(((await failing) as { error: QmpError }).error.errorClass).toBe('CommandNotFound');
  });

  it('numbers the commands after an id-less one that timed out, until its late reply has come', async () => {
    const { client, peer } = await setup();
    await settle(client.execute('query-status', undefined, { timeoutMs: 20 }));
    const first = await peer.nextCommand('query-status');
    expect(first.id).toBeUndefined();
    const next = client.execute('query-name');
    const second = await peer.nextCommand('query-name');
    expect(second.id).toBeTypeOf('number');
    await peer.reply(first, 'late'); // without an id: taken for the late one's, not for query-name's
    await peer.reply(second, { name: 'vm' });
    await expect(next).resolves.toEqual({ name: 'vm' });
    const after = client.execute('query-status');
    expect((await peer.nextCommand('query-status')).id).toBeUndefined();
    await peer.send({ return: {} });
    await expect(after).resolves.toEqual({});
  });

  it('does not reuse a timed-out id until its late reply has come', async () => {
    const { client, peer } = await setup();
    const slow = settle(client.execute('query-status', undefined, { timeoutMs: 20 }));
    const first = await peer.nextCommand('query-status');
    await slow;
    const next = client.execute('query-name');
    const second = await peer.nextCommand('query-name');
    expect(second.id).not.toBe(first.id);
    await peer.reply(first, 'late');
    await peer.reply(second, { name: 'vm' });
    await expect(next).resolves.toEqual({ name: 'vm' });
  });

  it('applies commandTimeoutMs as the default time limit', async () => {
    const { client, peer } = await setup({ client: { commandTimeoutMs: 40 } });
    const r = await settle(client.execute('query-status'));
    expect(peer.received.map((c) => c.execute)).toEqual(['qmp_capabilities', 'query-status']);
    expect((r as { error: TimeoutError }).error).toBeInstanceOf(TimeoutError);
    expect((r as { error: TimeoutError }).error.timeoutMs).toBe(40);
  });

  it('ignores replies with unknown ids', async () => {
    const { client, peer, traces, protocolErrors } = await setup();
    const result = client.execute('query-status');
    const cmd = await peer.nextCommand();
    await peer.send({ return: 'not yours', id: 'someone-else' }, { return: 'wrong', id: 42 }, { return: 'yours', id: cmd.id });
    await expect(result).resolves.toBe('yours');
    expect(traces.filter(([, t]) => t.startsWith('(ignored'))).toHaveLength(2);
    expect(protocolErrors).toEqual([]);
  });

  it('rejects invalid arguments before sending anything', async () => {
    const { client, peer } = await setup();
    await expect(client.execute('')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.execute('x', [1] as unknown as Record<string, unknown>)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.execute('x', { n: 1n })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(peer.received.map((c) => c.execute)).toEqual(['qmp_capabilities']);
  });

  it('hasCommand asks query-commands once and caches the answer', async () => {
    const { client, peer } = await setup();
    const first = Promise.all([client.hasCommand('query-status'), client.hasCommand('memread')]);
    await peer.reply(await peer.nextCommand('query-commands'), [{ name: 'query-status' }, { name: 'cont' }]);
    await expect(first).resolves.toEqual([true, false]);
    await expect(client.hasCommand('cont')).resolves.toBe(true);
    expect(peer.received.filter((c) => c.execute === 'query-commands')).toHaveLength(1);
  });

  it('hasCommand asks again after a failure', async () => {
    const { client, peer } = await setup();
    const first = settle(client.hasCommand('cont'));
    await peer.replyError(await peer.nextCommand('query-commands'), 'GenericError', 'busy');
    expect(((await first) as { error: unknown }).error).toBeInstanceOf(QmpError);
    const second = client.hasCommand('cont');
    await peer.reply(await peer.nextCommand('query-commands'), [{ name: 'cont' }]);
    await expect(second).resolves.toBe(true);
  });

  it('passes commands lost with the connection through explainLostConnection', async () => {
    const explainLostConnection = async (lost: ConnectionClosedError) => new QemuExitedError(`QEMU exited; ${lost.message}`);
    const { client, peer } = await setup({ client: { explainLostConnection } });
    const pending = settle(client.execute('query-status'));
    await peer.nextCommand('query-status');
    await peer.destroy();
    expect(((await pending) as { error: Error }).error).toBeInstanceOf(QemuExitedError);
    await expect(client.execute('cont')).rejects.toThrow(/^QEMU exited; QMP command 'cont' not sent: QMP connection to .* ended/);
  });

  it('close() is idempotent, fails pending commands and resolves closed', async () => {
    const { client, peer } = await setup();
    const pending = settle(client.execute('query-status'));
    await peer.nextCommand('query-status');
    await Promise.all([client.close(), client.close()]);
    await client.close();
    const r = await pending;
    expect(!r.ok && r.error).toBeInstanceOf(ConnectionClosedError);
    expect((r as { error: Error }).error.message).toContain("'query-status'");
    await expect(client.closed).resolves.toMatchObject({ by: 'local' });
    await peer.closed;
  });
});

describe('QmpClient events', () => {
  it('delivers events interleaved with replies to listeners, and the reply still resolves', async () => {
    const { client, peer } = await setup();
    const seen: string[] = [];
    const all: string[] = [];
    client.events.on('RESUME', (e) => seen.push(`RESUME:${JSON.stringify(e.data)}`));
    client.events.on('*', (e) => all.push(e.event));
    const result = client.execute('cont');
    const cmd = await peer.nextCommand('cont');
    // As QEMU does: the event is written before the reply, here all in one chunk.
    await peer.send(qmpEvent('RESUME'), { return: {}, id: cmd.id }, qmpEvent('RTC_CHANGE', { offset: 5 }));
    await expect(result).resolves.toEqual({});
    await sleep(10);
    expect(seen).toEqual(['RESUME:{}']);
    expect(all).toEqual(['RESUME', 'RTC_CHANGE']);
  });

  it('gives events the QMP shape: name, data (default {}) and timestamp', async () => {
    const { client, peer } = await setup();
    const shutdown = client.events.once('SHUTDOWN');
    const stop = client.events.once('STOP');
    await peer.event('STOP');
    await peer.event('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
    await expect(stop).resolves.toEqual({ event: 'STOP', data: {}, timestamp: { seconds: 1_700_000_000, microseconds: 123_456 } });
    expect((await shutdown).data).toEqual({ guest: false, reason: 'host-qmp-quit' });
  });

  it('buffers events for an iterator while a reply is awaited, in order, without loss', async () => {
    const { client, peer } = await setup();
    const iterator = client.events.events(['STOP', 'RESUME']);
    const result = client.execute('cont');
    const cmd = await peer.nextCommand('cont');
    await peer.event('RESUME', { n: 1 });
    await peer.event('BLOCK_IO_ERROR'); // filtered out
    await peer.sendInPieces(qmpLine(qmpEvent('STOP', { n: 2 })), 7);
    await peer.send(qmpEvent('RESUME', { n: 3 }), { return: {}, id: cmd.id });
    await result;
    const got: QmpEvent[] = [];
    for await (const e of iterator) {
      got.push(e);
      if (got.length === 3) break;
    }
    expect(got.map((e) => `${e.event}${String(e.data.n)}`)).toEqual(['RESUME1', 'STOP2', 'RESUME3']);
  });

  it('ends iterators when the connection closes, after yielding what they buffered', async () => {
    const { client, peer } = await setup();
    const iterator = client.events.events();
    const waiting = client.events.events('SHUTDOWN');
    const next = waiting.next();
    await peer.send(qmpEvent('SHUTDOWN', { reason: 'host-qmp-quit' }));
    await expect(next).resolves.toMatchObject({ done: false, value: { event: 'SHUTDOWN' } });
    await peer.destroy();
    await client.closed;
    const got: string[] = [];
    for await (const e of iterator) got.push(e.event);
    expect(got).toEqual(['SHUTDOWN']);
    await expect(waiting.next()).resolves.toEqual({ done: true, value: undefined });
    const late: string[] = [];
    for await (const e of client.events.events()) late.push(e.event);
    expect(late).toEqual([]);
  });

  it('once() honours filter and timeout, and rejects when the connection closes', async () => {
    const { client, peer } = await setup();
    const guest = client.events.once('SHUTDOWN', { filter: (e) => e.data.guest === true });
    await peer.send(qmpEvent('SHUTDOWN', { guest: false }), qmpEvent('SHUTDOWN', { guest: true, reason: 'guest-shutdown' }));
    expect((await guest).data.reason).toBe('guest-shutdown');

    const timeout = await settle(client.events.once('NEVER', { timeoutMs: 30 }));
    expect(!timeout.ok && timeout.error).toBeInstanceOf(TimeoutError);

    const orphan = settle(client.events.once('RESET'));
    await peer.destroy();
    const r = await orphan;
    expect(!r.ok && r.error).toBeInstanceOf(ConnectionClosedError);
    expect((r as { error: Error }).error.message).toContain("'RESET'");
  });

  it('unsubscribes listeners, and one throwing listener does not stop the others', async () => {
    const { client, peer, traces } = await setup();
    const got: string[] = [];
    client.events.on('STOP', () => {
      throw new Error('listener bug');
    });
    const off = client.events.on('STOP', () => got.push('second'));
    client.events.on('*', () => got.push('star'));
    await peer.event('STOP');
    await sleep(20);
    off();
    await peer.event('STOP');
    await sleep(20);
    expect(got).toEqual(['second', 'star', 'star']);
    expect(traces.filter(([, t]) => t.includes('listener bug'))).toHaveLength(2);
  });
});

describe('QmpClient robustness', () => {
  it('reassembles a reply split over many writes, including inside multi-byte UTF-8', async () => {
    const { client, peer } = await setup();
    const result = client.execute<string>('human-monitor-command', { 'command-line': 'info version' });
    const cmd = await peer.nextCommand();
    const text = 'ünïcödé ✓ 😀 "quoted" {braces}';
    await peer.sendInPieces(qmpLine({ return: text, id: cmd.id }), 3, 1);
    await expect(result).resolves.toBe(text);
  });

  it('reports JSON that is not valid QMP as ProtocolError and carries on', async () => {
    const { client, peer, protocolErrors } = await setup();
    const events: string[] = [];
    client.events.on('*', (e) => events.push(e.event));
    // The id-less error below can be no command's reply only while every waiting command has an id.
    const first = client.execute('query-name');
    const result = client.execute('query-status');
    await peer.reply(await peer.nextCommand('query-name'), { name: 'vm' });
    await first;
    const cmd = await peer.nextCommand('query-status');
    expect(cmd.id).toBeTypeOf('number');
    await peer.send(
      '[1, 2]\r\n',
      { event: 'STOP' }, // no timestamp
      { timestamp: { seconds: 1, microseconds: 2 }, event: 'X', data: 'not an object' },
      { something: 'else' },
      { error: { class: 'GenericError', desc: 'QMP input must be a JSON object' } }, // no id
      { return: 'ok', id: cmd.id },
    );
    await expect(result).resolves.toBe('ok');
    expect(protocolErrors).toHaveLength(5);
    expect(protocolErrors.every((e) => e instanceof ProtocolError)).toBe(true);
    expect(protocolErrors[0]!.message).toMatch(/not a JSON object/);
    expect(protocolErrors[1]!.message).toMatch(/malformed QMP event/);
    expect(events).toEqual([]);
    expect(client.isClosed).toBe(false);
  });

  it('treats garbage on the wire as fatal: ProtocolError, pending commands fail, no crash', async () => {
    const { client, peer, protocolErrors } = await setup();
    const pending = settle(client.execute('query-status'));
    await peer.nextCommand();
    await peer.write('\x00\x01garbage\xff}{\r\n');
    const r = await pending;
    expect(!r.ok && r.error).toBeInstanceOf(ConnectionClosedError);
    expect((r as { error: Error }).error.cause as Error).toBeInstanceOf(ProtocolError);
    expect(protocolErrors).toHaveLength(1);
    expect(protocolErrors[0]!.message).toContain('garbage');
    const info = await client.closed;
    expect(info.by).toBe('error');
    expect(info.error).toBeInstanceOf(ProtocolError);
    await peer.closed;
  });

  it('rejects a message over maxMessageBytes without buffering it all', async () => {
    const { client, peer, protocolErrors } = await setup({ client: { maxMessageBytes: 4096 } });
    const pending = settle(client.execute('query-qmp-schema'));
    const cmd = await peer.nextCommand();
    await peer.send({ return: 'x'.repeat(100_000), id: cmd.id });
    const r = await pending;
    expect(!r.ok && r.error).toBeInstanceOf(ConnectionClosedError);
    expect(protocolErrors[0]!.message).toMatch(/exceeds 4096 bytes/);
    expect((await client.closed).error).toBeInstanceOf(ProtocolError);
  });

  it('an unexpected second greeting is reported, not fatal', async () => {
    const { client, peer, protocolErrors } = await setup();
    await peer.send({ QMP: { version: { qemu: { major: 9, minor: 0, micro: 0 }, package: '' }, capabilities: [] } });
    const r = client.execute('query-status');
    await peer.reply(await peer.nextCommand(), 'still fine');
    await expect(r).resolves.toBe('still fine');
    expect(protocolErrors.map((e) => e.message)).toEqual([expect.stringMatching(/unrecognised QMP message/)]);
    expect(client.version.major).toBe(7);
  });
});

describe('EventHub', () => {
  const ev = (event: string, data: Record<string, unknown> = {}): QmpEvent => ({ event, data, timestamp: { seconds: 0, microseconds: 0 } });

  it('fails an iterator whose consumer falls too far behind, after yielding what it kept', async () => {
    const hub = new EventHub();
    const it = hub.events(undefined, { maxBuffered: 2 });
    hub.emit(ev('A'));
    hub.emit(ev('B'));
    hub.emit(ev('C'));
    await expect(it.next()).resolves.toEqual({ done: false, value: ev('A') });
    await expect(it.next()).resolves.toEqual({ done: false, value: ev('B') });
    await expect(it.next()).rejects.toBeInstanceOf(EventOverflowError);
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('is iterable itself, and a break unsubscribes the iterator', async () => {
    const hub = new EventHub();
    const got: string[] = [];
    const consumer = (async () => {
      for await (const e of hub) {
        got.push(e.event);
        if (e.event === 'STOP') break;
      }
    })();
    hub.emit(ev('RESUME'));
    hub.emit(ev('STOP'));
    await consumer;
    hub.emit(ev('AFTER'));
    expect(got).toEqual(['RESUME', 'STOP']);
    hub.close(new Error('done'));
    expect(hub.isClosed).toBe(true);
  });
});
