// Every connection QEMU is reached through takes its time limit from the one start-up limit
// (launch()'s readyTimeoutMs, connect()'s timeoutMs), and running out of it says which option to
// raise. Peers that accept a connection and never answer stand in for a QEMU too busy to.
import { connect } from 'node:net';
import { FaultInjectionFramework, ReadyTimeoutError, TimeoutError } from '@qemu-fault/core';
import { describe, expect, it } from 'vitest';
import { connectWithin } from '../../packages/core/src/channels/connect-within.js';
import { openChannels } from '../../packages/core/src/channels/open-channels.js';
import { StartUpLimit } from '../../packages/core/src/channels/start-up-limit.js';
import { PluginListener } from '../../packages/core/src/plugin/listener.js';
import { FakeQmpServer } from '../support/fake-qmp-server.js';
import { FakeSocketServer } from '../support/fake-socket-server.js';
import { afterThisTest } from '../support/scratch.js';

const LIMIT = { option: 'readyTimeoutMs', raise: 'launch({ readyTimeoutMs })' };

async function silentPeer(): Promise<string> {
  const peer = await FakeSocketServer.start(() => undefined);
  afterThisTest(() => peer.close());
  return peer.path;
}

async function qmpPeer(): Promise<string> {
  const server = await FakeQmpServer.start();
  afterThisTest(() => server.close());
  return server.path;
}

describe('the start-up limit', () => {
  for (const channel of ['qtest', 'gdb'] as const) {
    it(`bounds the ${channel} handshake, not the client's own default`, async () => {
      const [qmp, silent] = await Promise.all([qmpPeer(), silentPeer()]);
      const started = Date.now();
      const error = await openChannels(
        { qmp: { kind: 'unix', path: qmp }, [channel]: { kind: 'unix', path: silent } },
        { limit: new StartUpLimit(300, LIMIT, { scope: 'shared' }), retry: true },
      ).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ReadyTimeoutError);
      expect((error as Error).message).toMatch(/was not ready within readyTimeoutMs \(300 ms\).*raise it: launch\(\{ readyTimeoutMs \}\)/);
      expect(Date.now() - started).toBeLessThan(2000);
    });
  }

  it('bounds the human monitor’s first prompt', async () => {
    const [qmp, silent] = await Promise.all([qmpPeer(), silentPeer()]);
    const error = await openChannels(
      { qmp: { kind: 'unix', path: qmp }, hmp: { kind: 'unix', path: silent } },
      { limit: new StartUpLimit(300, LIMIT, { scope: 'shared' }), retry: true },
    ).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ReadyTimeoutError);
    expect((error as Error).message).toMatch(/^the human monitor at .* was not ready within readyTimeoutMs \(300 ms\)/);
  });

  it("bounds the plugin's connection and its hello together", async () => {
    const qmp = await qmpPeer();
    const listener = await PluginListener.create();
    afterThisTest(() => listener.close());
    // A plugin that connects at once and never says hello: the hello gets what is left, not the whole limit again.
    const plugin = connect(listener.path);
    plugin.on('error', () => undefined);
    afterThisTest(async () => void plugin.destroy());
    const started = Date.now();
    const error = await openChannels(
      { qmp: { kind: 'unix', path: qmp } },
      { limit: new StartUpLimit(400, LIMIT, { scope: 'shared' }), retry: true, plugin: listener },
    ).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ReadyTimeoutError);
    expect((error as Error).message).toMatch(/^QEMU's qemu-fault plugin was not ready within readyTimeoutMs \(400 ms\)/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("is connect()'s timeoutMs per socket, named as such", async () => {
    const [qmp, silent] = await Promise.all([qmpPeer(), silentPeer()]);
    const error = await FaultInjectionFramework.connect(qmp, { qtest: silent, timeoutMs: 300 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ReadyTimeoutError);
    expect(error).toMatchObject({ option: 'timeoutMs', timeoutMs: 300 });
    expect((error as Error).message).toMatch(/^the qtest channel at .* was not ready within timeoutMs \(300 ms\)/);
  });

  it('names the limit for a timeout whose timer fired a moment before the deadline did', async () => {
    // libuv starts a timer at the loop's cached time, so it may fire before Date.now() reaches the deadline.
    const limit = new StartUpLimit(60_000, LIMIT, { scope: 'shared' });
    const error = await connectWithin('the gdbstub', limit.deadline(), (timeoutMs) =>
      Promise.reject(new TimeoutError('gdb packet qSupported', timeoutMs)),
    ).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ReadyTimeoutError);
    expect((error as Error).cause).toBeInstanceOf(TimeoutError);
  });
});
