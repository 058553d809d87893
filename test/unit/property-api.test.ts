// Property-based: the public API fed hostile arguments (anything at all: wrong types, huge and
// negative numbers, NaN, objects without a prototype, symbols...). Every call must settle, by
// itself and in time, with a result or a QemuFaultError — never a TypeError or a crash — and an
// argument it rejects must not have reached QEMU.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultInjectionFramework, InvalidArgumentError, parseAddress, QemuFaultError } from '../../packages/core/src/index.js';
import { type FakePeer, FakeQmpServer } from '../support/fake-qmp-server.js';

/** Answers every command like a paused QEMU 7.2 with one CPU and no side channels would, roughly. */
function serve(peer: FakePeer): void {
  const answers: Record<string, unknown> = {
    'query-status': { running: false, status: 'prelaunch' },
    'query-commands': [{ name: 'query-status' }],
    'query-cpus-fast': [{ 'cpu-index': 0, 'qom-path': '/machine/unattached/device[0]', target: 'arm' }],
    'qom-list': [{ name: 'unnamed-gpio-in[0]', type: 'link<irq>' }],
    'human-monitor-command': '0000000020000000: 0x00 0x00 0x00 0x00\r\n',
  };
  void (async () => {
    for (;;) {
      const command = await peer.nextCommand(undefined, 60_000).catch(() => undefined);
      if (!command) return;
      await peer.reply(command, answers[command.execute] ?? {}).catch(() => undefined);
    }
  })();
}

const hostile = fc.oneof(
  fc.anything({
    withBigInt: true,
    withNullPrototype: true,
    withBoxedValues: true,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    withSparseArray: true,
    withDate: true,
  }),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, -1, 2 ** 53, 2 ** 64, -(2n ** 70n), 2n ** 64n, 1.5, Symbol('s'), () => 0, null, undefined),
  fc.bigInt(),
  fc.double(),
  fc.string(),
);

type Call = (inj: FaultInjectionFramework, a: unknown, b: unknown, c: unknown, d: unknown) => unknown;
const CALLS: Record<string, Call> = {
  read: (inj, a, b, c) => inj.read(a as never, b as never, c as never),
  write: (inj, a, b, c, d) => inj.write(a as never, b as never, c as never, d as never),
  readPhysical: (inj, a, b) => inj.readPhysical(a as never, b as never),
  writePhysical: (inj, a, b, c) => inj.writePhysical(a as never, b as never, c as never),
  readBytes: (inj, a, b, c) => inj.readBytes(a as never, b as never, c as never),
  writeBytes: (inj, a, b, c) => inj.writeBytes(a as never, b as never, c as never),
  getQomProperty: (inj, a, b) => inj.getQomProperty(a as never, b as never),
  setQomProperty: (inj, a, b, c) => inj.setQomProperty(a as never, b as never, c),
  setGpio: (inj, a, b, c, d) => inj.setGpio(a as never, b as never, c as never, d as never),
  notify: (inj, a, b) => inj.notify(a as never, b as never),
  at: (inj, a, b) => inj.at(a as never, b as never),
  symbol: (inj, a) => inj.symbol(a as never),
  verbose: (inj, a) => {
    inj.verbose = a as never;
  },
  qmpExecute: (inj, a, b) => inj.qmp.execute(a as never, b as never, { timeoutMs: 1000 }),
};

/** Runs `work`, sync or async, and returns what it threw or rejected with (undefined if it succeeded). */
async function outcome(work: () => unknown): Promise<unknown> {
  try {
    await work();
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('the public API with hostile arguments (property)', () => {
  let fake: FakeQmpServer;
  let peer: FakePeer;
  let inj: FaultInjectionFramework;
  beforeAll(async () => {
    fake = await FakeQmpServer.start();
    const connecting = FaultInjectionFramework.connect(fake.path, { timeoutMs: 2000 });
    peer = await fake.nextPeer();
    serve(peer);
    inj = await connecting;
  });
  afterAll(async () => {
    await inj.close();
    await fake.close();
  });

  it('every call settles with a result or a QemuFaultError', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(CALLS)), hostile, hostile, hostile, hostile, async (name, a, b, c, d) => {
        const err = await outcome(() => CALLS[name]!(inj, a, b, c, d));
        if (err !== undefined) expect(err, `${name} threw ${String((err as Error)?.stack ?? err)}`).toBeInstanceOf(QemuFaultError);
      }),
      { numRuns: 600 },
    );
    expect((await inj.status()).status).toBe('prelaunch'); // the connection survived it all
  });

  it('an argument it rejects as invalid sends nothing to QEMU', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('read', 'write', 'readPhysical', 'writePhysical', 'readBytes', 'writeBytes', 'setGpio'),
        hostile,
        hostile,
        hostile,
        hostile,
        async (name, a, b, c, d) => {
          const before = peer.received.length;
          const err = await outcome(() => CALLS[name]!(inj, a, b, c, d));
          const sent = peer.received.slice(before).map((r) => r.execute);
          // setGpio asks QEMU whether the line exists (qom-list) before it refuses a missing one.
          if (err instanceof InvalidArgumentError && !sent.includes('qom-list')) expect(sent).toEqual([]);
        },
      ),
      { numRuns: 600 },
    );
  });

  // Some seconds of CPU on a loaded machine (the default 5 s limit ran out under the stress run).
  it('parseAddress returns an address or throws InvalidArgumentError, for any string', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('tcp::0', '[::1]:99999', 'unix:', ':', 'host:-1')),
        (text) => {
          try {
            const address = parseAddress(text);
            expect(['unix', 'tcp']).toContain(address.kind);
            if (address.kind === 'tcp') expect(address.port).toBeGreaterThanOrEqual(1);
          } catch (err) {
            expect(err).toBeInstanceOf(InvalidArgumentError);
          }
        },
      ),
    );
  });
});
