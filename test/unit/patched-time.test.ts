// A QEMU with the original framework's patch (time-notify + TIME_NOTIFICATION) does not exist on
// this machine: a fake QMP peer plays it, so the framework's use of it is checked message by message.

import { ChannelUnavailableError, FaultInjectionFramework, TriggerCallbackError } from '@qemu-fault/core';
import { describe, expect, it } from 'vitest';
import { type FakePeer, FakeQmpServer } from '../support/fake-qmp-server.js';
import { afterThisTest } from '../support/scratch.js';

/** Connects the framework to a fake patched QEMU, answering its start-up questions. */
async function patchedQemu(): Promise<{ fw: FaultInjectionFramework; peer: FakePeer }> {
  const server = await FakeQmpServer.start();
  afterThisTest(() => server.close());
  const connecting = FaultInjectionFramework.connect(server.path);
  const peer = await server.nextPeer();
  await peer.reply(await peer.nextCommand('query-status'), { running: false, status: 'prelaunch' });
  await peer.reply(await peer.nextCommand('query-commands'), [{ name: 'time-notify' }, { name: 'cont' }, { name: 'query-status' }]);
  const fw = await connecting;
  afterThisTest(() => fw.close());
  return { fw, peer };
}

/** What the patch does when its timer expires: pause the VM (RUN_STATE_DEBUG), then the event. */
async function expire(peer: FakePeer, eventId: unknown, timeNs: number): Promise<void> {
  await peer.event('STOP');
  await peer.event('TIME_NOTIFICATION', { event_id: eventId, time_ns: timeNs });
}

describe("time notifications through a patched QEMU's time-notify", () => {
  it("arms time-notify with pause, runs the callback at the event's time, then continues", async () => {
    const { fw, peer } = await patchedQemu();
    const seen: number[] = [];
    await Promise.all([
      fw.notify(5_000_000, (ctx) => void seen.push(ctx.timeNs)),
      peer.nextCommand('time-notify').then(async (cmd) => {
        expect(cmd.arguments).toEqual({ event_id: 1, time_ns: 5_000_000, pause: true });
        await peer.reply(cmd);
      }),
    ]);
    const running = fw.run({ timeoutMs: 5000 });
    await peer.reply(await peer.nextCommand('cont'));
    await peer.event('RESUME');
    await expire(peer, 1, 5_000_123);
    await peer.reply(await peer.nextCommand('cont')); // resumed after the callback
    expect(seen).toEqual([5_000_123]);
    await peer.event('SHUTDOWN', { guest: true, reason: 'guest-shutdown' });
    await expect(running).resolves.toMatchObject({ reason: 'shutdown' });
    expect(fw.trace.entries.some((e) => e.kind === 'trigger' && e.timeNs === 5_000_123)).toBe(true);
  });

  it('passes relative times through, and refuses what the patch cannot do', async () => {
    const { fw, peer } = await patchedQemu();
    const arming = fw.notify(1000, () => undefined, { relative: true });
    const cmd = await peer.nextCommand('time-notify');
    expect(cmd.arguments).toMatchObject({ time_ns: 1000, pause: true }); // before the start, "now" is 0
    await peer.reply(cmd);
    await arming;
    await expect(fw.at(0x100, () => undefined)).rejects.toBeInstanceOf(ChannelUnavailableError);
    await expect(fw.onWrite(0x2000_0000, 4, () => undefined)).rejects.toBeInstanceOf(ChannelUnavailableError);
    await expect(fw.instructions()).rejects.toBeInstanceOf(ChannelUnavailableError);
  });

  it('a callback that throws fails the run and leaves the VM paused where it failed', async () => {
    const { fw, peer } = await patchedQemu();
    const arming = fw.notify(2_000_000, () => {
      throw new Error('boom');
    });
    await peer.reply(await peer.nextCommand('time-notify'));
    await arming;
    const running = fw.run({ timeoutMs: 5000 });
    await peer.reply(await peer.nextCommand('cont'));
    await peer.event('RESUME');
    await expire(peer, 1, 2_000_000);
    const err = await running.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TriggerCallbackError);
    expect((err as TriggerCallbackError).timeNs).toBe(2_000_000);
    expect((await fw.status()).status).toBe('frozen');
    expect(peer.received.filter((c) => c.execute === 'cont')).toHaveLength(1);
  });

  it('a callback that holds the run leaves the VM paused there; stopHeld() keeps it so, without a cont', async () => {
    const { fw, peer } = await patchedQemu();
    const arming = fw.notify(3_000_000, (ctx) => ctx.hold());
    await peer.reply(await peer.nextCommand('time-notify'));
    await arming;
    const running = fw.run({ timeoutMs: 5000 });
    await peer.reply(await peer.nextCommand('cont'));
    await peer.event('RESUME');
    await expire(peer, 1, 3_000_000);
    await expect(running).resolves.toEqual({ reason: 'held', timeNs: 3_000_000 });
    expect((await fw.status()).status).toBe('frozen');
    await fw.stopHeld();
    const status = fw.status();
    await peer.reply(await peer.nextCommand('query-status'), { running: false, status: 'paused' });
    expect(await status).toEqual({ running: false, status: 'paused' });
    expect(peer.received.filter((c) => c.execute === 'cont' || c.execute === 'stop')).toHaveLength(1);
  });
});
