// Every connection QEMU is reached through takes its time limit from the one start-up limit
// (launch()'s readyTimeoutMs, connect()'s timeoutMs), and running out of it says which option to
// raise. Peers that accept a connection and never answer stand in for a QEMU too busy to.
import { FaultInjectionFramework, ReadyTimeoutError } from '@qemu-fault/core';
import { describe, expect, it } from 'vitest';
import { openChannels } from '../../packages/core/src/channels/open-channels.js';
import { StartUpLimit } from '../../packages/core/src/channels/start-up-limit.js';
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

  it("is connect()'s timeoutMs per socket, named as such", async () => {
    const [qmp, silent] = await Promise.all([qmpPeer(), silentPeer()]);
    const error = await FaultInjectionFramework.connect(qmp, { qtest: silent, timeoutMs: 300 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ReadyTimeoutError);
    expect(error).toMatchObject({ option: 'timeoutMs', timeoutMs: 300 });
    expect((error as Error).message).toMatch(/^the qtest channel at .* was not ready within timeoutMs \(300 ms\)/);
  });
});
