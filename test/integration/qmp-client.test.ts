import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionClosedError, QmpError, TimeoutError } from '../../packages/core/src/errors.js';
import { QmpClient } from '../../packages/core/src/qmp/qmp-client.js';
import { type SpawnedQemu, spawnQemu } from '../support/spawn-qemu.js';

interface Status {
  status: string;
  running: boolean;
}

describe('QmpClient against a real qemu-system-arm', () => {
  let qemu: SpawnedQemu | undefined;
  let qmp: QmpClient | undefined;
  let traces: Array<[string, string]>;

  beforeEach(async () => {
    traces = [];
    qemu = await spawnQemu();
    qmp = await QmpClient.connect(qemu.qmpPath, { timeoutMs: 10_000, trace: (d, t) => traces.push([d, t]) });
  });

  afterEach(async () => {
    await qmp?.close();
    await qemu?.kill();
    qmp = undefined;
    qemu = undefined;
  });

  afterAll(async () => {
    await qemu?.kill(); // in case a hook itself failed half-way
  });

  it('greets with a QEMU >= 7 version and starts paused', async () => {
    const q = qmp!;
    expect(q.version.major).toBeGreaterThanOrEqual(7);
    expect(q.version).toEqual({
      major: expect.any(Number),
      minor: expect.any(Number),
      micro: expect.any(Number),
      package: expect.any(String),
    });
    expect(q.greeting.QMP.capabilities).toContain('oob');
    const status = await q.execute<Status>('query-status');
    expect(['prelaunch', 'paused']).toContain(status.status);
    expect(status.running).toBe(false);
    // Every message went through the trace, in order: greeting, our qmp_capabilities, its reply, ...
    expect(traces[0]![1]).toMatch(/^\{"QMP"/);
    expect(traces[1]![0]).toBe('send');
    expect(JSON.parse(traces[1]![1])).toMatchObject({ execute: 'qmp_capabilities' });
  });

  it('cont and stop produce RESUME and STOP, each delivered before the command resolves', async () => {
    const q = qmp!;
    const log: string[] = [];
    q.events.on('*', (e) => log.push(e.event));
    const iterator = q.events.events(['RESUME', 'STOP']);

    const resumed = q.events.once('RESUME', { timeoutMs: 5000 });
    await q.execute('cont');
    log.push('cont returned');
    expect((await resumed).event).toBe('RESUME');
    expect((await q.execute<Status>('query-status')).status).toBe('running');

    const stopped = q.events.once('STOP', { timeoutMs: 5000 });
    await q.execute('stop');
    log.push('stop returned');
    const stop = await stopped;
    expect(stop.data).toEqual({});
    expect(stop.timestamp.seconds).toBeGreaterThan(1_600_000_000);
    expect((await q.execute<Status>('query-status')).status).toBe('paused');

    // QEMU emits the event while running the command, so it is on the wire before the reply.
    expect(log).toEqual(['RESUME', 'cont returned', 'STOP', 'stop returned']);
    const first = await iterator.next();
    const second = await iterator.next();
    expect([first.value?.event, second.value?.event]).toEqual(['RESUME', 'STOP']);
  });

  it('an unknown command fails with CommandNotFound and the connection stays usable', async () => {
    const q = qmp!;
    const err = await q.execute('no-such-command').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    expect((err as QmpError).errorClass).toBe('CommandNotFound');
    expect((err as QmpError).desc).toContain('no-such-command');
    expect((err as QmpError).command).toBe('no-such-command');
    expect((await q.execute<Status>('query-status')).running).toBe(false);
  });

  it('bad arguments fail with GenericError', async () => {
    const q = qmp!;
    const unexpected = await q.execute('stop', { bogus: 1 }).catch((e: unknown) => e);
    expect(unexpected).toBeInstanceOf(QmpError);
    expect((unexpected as QmpError).errorClass).toBe('GenericError');
    expect((unexpected as QmpError).desc).toContain('bogus');

    const wrongType = await q.execute('human-monitor-command', { 'command-line': 42 }).catch((e: unknown) => e);
    expect((wrongType as QmpError).errorClass).toBe('GenericError');
    expect((wrongType as QmpError).desc).toContain('command-line');
  });

  it('handles many commands in flight at once', async () => {
    const q = qmp!;
    const calls = Array.from({ length: 25 }, (_, i) =>
      i % 5 === 0 ? q.execute(`bogus-${i}`).catch((e: QmpError) => e.errorClass) : q.execute<Status>('query-status').then((s) => s.status),
    );
    const results = await Promise.all(calls);
    for (const [i, r] of results.entries()) expect(r).toBe(i % 5 === 0 ? 'CommandNotFound' : 'prelaunch');
  });

  it('hasCommand reflects query-commands', async () => {
    const q = qmp!;
    await expect(q.hasCommand('query-status')).resolves.toBe(true);
    await expect(q.hasCommand('qom-get')).resolves.toBe(true);
    await expect(q.hasCommand('definitely-not-a-command')).resolves.toBe(false);
    expect(traces.filter(([d, t]) => d === 'send' && t.includes('"query-commands"'))).toHaveLength(1);
  });

  it('a second client is accepted but never greeted while the first holds the monitor', async () => {
    const err = await QmpClient.connect(qemu!.qmpPath, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/greeting/);
  });

  it('quit: SHUTDOWN event, a reply, then the connection closes and QEMU exits', async () => {
    const q = qmp!;
    const shutdown = q.events.once('SHUTDOWN', { timeoutMs: 5000 });
    await expect(q.execute('quit')).resolves.toEqual({});
    const event = await shutdown;
    expect(event.data).toEqual({ guest: false, reason: 'host-qmp-quit' });
    const info = await q.closed;
    expect(info.by).toBe('peer');
    // A clean EOF, not ECONNRESET: nothing of ours was left unread in QEMU's socket when it exited.
    expect(info.error).toBeUndefined();
    await expect(q.execute('query-status')).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(qemu!.exited).resolves.toEqual({ code: 0, signal: null });
  });

  it('commands in flight when QEMU dies all fail with ConnectionClosedError at once', async () => {
    const q = qmp!;
    // Freeze QEMU so it cannot answer, queue commands, then kill it.
    qemu!.child.kill('SIGSTOP');
    const inFlight = ['query-status', 'query-name', 'cont'].map((c) => q.execute(c).catch((e: unknown) => e));
    await new Promise((r) => setTimeout(r, 100));
    const killedAt = Date.now();
    qemu!.child.kill('SIGKILL');
    const errors = await Promise.all(inFlight);
    expect(Date.now() - killedAt).toBeLessThan(2000);
    errors.forEach((err, i) => {
      expect(err).toBeInstanceOf(ConnectionClosedError);
      expect((err as Error).message).toContain(`'${['query-status', 'query-name', 'cont'][i]}'`);
    });
    expect((await q.closed).by).toBe('peer');
  });
});
