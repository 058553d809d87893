// Property-based: the QMP side (JSON framing, QMP client) fed malformed, truncated, oversized and
// hostile input. Nothing may throw out of the parser, crash the process, or leave a command hanging.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QemuFaultError } from '../../packages/core/src/errors.js';
import { QmpClient } from '../../packages/core/src/qmp/qmp-client.js';
import { JsonStream } from '../../packages/core/src/transport/json-stream.js';
import { FakeQmpServer, QEMU_GREETING, qmpLine } from '../support/fake-qmp-server.js';

/** Feeds `bytes` to a fresh stream in the given chunk sizes; returns what it delivered. */
function feed(bytes: Buffer, cuts: number[], options: { maxMessageBytes?: number; maxDepth?: number } = {}) {
  const messages: unknown[] = [];
  const errors: string[] = [];
  let maxBuffered = 0;
  const stream = new JsonStream({ message: (value) => messages.push(value), error: (err) => errors.push(err.message) }, options);
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    const end = Math.min(bytes.length, at + cut);
    stream.push(bytes.subarray(at, end));
    maxBuffered = Math.max(maxBuffered, stream.bufferedBytes);
    at = end;
  }
  stream.end();
  return { messages, errors, maxBuffered };
}

const chunkSizes = fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 40 });
/** What JSON.parse gives back for a JSON object or array text (top-level scalars are not QMP messages). */
const jsonMessage = fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.array(fc.jsonValue()));

describe('JsonStream (property)', () => {
  it('delivers exactly the messages sent, whatever the chunking and whitespace', () => {
    fc.assert(
      fc.property(
        fc.array(jsonMessage, { maxLength: 8 }),
        fc.array(fc.constantFrom(' ', '\n', '\r\n', '\t', ''), { minLength: 9, maxLength: 9 }),
        chunkSizes,
        (values, gaps, cuts) => {
          const text = values.map((v, i) => gaps[i] + JSON.stringify(v)).join('') + gaps[8];
          const { messages, errors } = feed(Buffer.from(text, 'utf8'), cuts);
          expect(errors).toEqual([]);
          expect(messages).toEqual(values.map((v) => JSON.parse(JSON.stringify(v))));
        },
      ),
    );
  });

  it('never throws on arbitrary bytes, and never holds more than maxMessageBytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), chunkSizes, (bytes, cuts) => {
        const { maxBuffered } = feed(Buffer.from(bytes), cuts, { maxMessageBytes: 256 });
        expect(maxBuffered).toBeLessThanOrEqual(256);
      }),
    );
  });

  it('reports nesting deeper than maxDepth without recursing into it, and resynchronises', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200_000 }), chunkSizes, (depth, cuts) => {
        const deep = '['.repeat(depth) + ']'.repeat(depth);
        const { messages, errors } = feed(Buffer.from(`${deep}\n{"ok":1}`), cuts, { maxDepth: 1024 });
        expect(errors.length).toBe(depth > 1024 ? 1 : 0);
        expect(messages.at(-1)).toEqual({ ok: 1 });
      }),
      { numRuns: 30 },
    );
  });
});

/** One hostile thing a QMP peer can send, as raw text. */
const hostile = fc.oneof(
  fc.string({ maxLength: 200 }), // garbage, maybe framing-breaking
  fc.jsonValue().map((v) => qmpLine({ return: v })), // any return value for the pending command (sent alone: without an id)
  fc.jsonValue().map((id) => qmpLine({ return: {}, id })), // unknown or weird ids
  fc.constantFrom('{"return": 1e400}', '{"return": 123456789012345678901234567890}', '{"return": -0, "id": 1e300}'), // huge numbers
  fc
    .record(
      { event: fc.option(fc.jsonValue()), data: fc.option(fc.jsonValue()), timestamp: fc.option(fc.jsonValue()) },
      { requiredKeys: [] },
    )
    .map((e) => qmpLine(e)), // events missing fields
  fc.integer({ min: 1000, max: 100_000 }).map((d) => `${'{"x":'.repeat(d)}1${'}'.repeat(d)}`), // deep JSON
  fc.constantFrom(`{"return": "${'x'.repeat(300_000)}", "id": 0}`), // oversized message
  fc.constant('{"error": {"class": 12, "desc": null}, "id": 0}'), // error with wrong field types
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')), // not UTF-8
);

describe('QmpClient against a hostile peer (property)', () => {
  let fake: FakeQmpServer;
  beforeAll(async () => (fake = await FakeQmpServer.start()));
  afterAll(() => fake.close());

  it('settles a pending command within its timeout, with a value or a QemuFaultError, whatever arrives', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 5 }), fc.boolean(), async (messages, hangUp) => {
        const qmp = await QmpClient.connect(fake.path, { commandTimeoutMs: 300, maxMessageBytes: 100_000 });
        const peer = await fake.nextPeer();
        try {
          const pending = qmp.execute('query-status').then(
            () => 'value',
            (err: unknown) => err,
          );
          await peer.nextCommand('query-status');
          // The client may hang up on the first bad byte; the rest then has nowhere to go.
          for (const message of messages) await peer.write(message).catch(() => undefined);
          if (hangUp) void peer.destroy();
          const outcome = await pending;
          if (outcome !== 'value') expect(outcome).toBeInstanceOf(QemuFaultError);
          // Whatever happened, later commands settle too (answered, refused, or timed out).
          const later = await qmp.execute('query-status', undefined, { timeoutMs: 100 }).catch((err: unknown) => err);
          if (later instanceof Error) expect(later).toBeInstanceOf(QemuFaultError);
        } finally {
          await qmp.close();
          await peer.destroy();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('connect() fails with a QemuFaultError, in time, on any greeting that is not QMP', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (greeting) => {
        const odd = await FakeQmpServer.start({ greeting });
        try {
          const outcome = await QmpClient.connect(odd.path, { timeoutMs: 300 }).then(
            (qmp) => qmp.close().then(() => 'connected'),
            (err: unknown) => err,
          );
          if (outcome !== 'connected') expect(outcome).toBeInstanceOf(QemuFaultError);
        } finally {
          await odd.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('a real greeting with hostile version fields never yields a non-number version', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (major) => {
        const greeting = {
          QMP: { ...QEMU_GREETING.QMP, version: { ...QEMU_GREETING.QMP.version, qemu: { ...QEMU_GREETING.QMP.version.qemu, major } } },
        };
        const odd = await FakeQmpServer.start({ greeting });
        try {
          const qmp = await QmpClient.connect(odd.path, { timeoutMs: 300 }).catch((err: unknown) => err);
          if (qmp instanceof QmpClient) {
            expect(Number.isFinite(qmp.version.major)).toBe(true);
            await qmp.close();
          } else expect(qmp).toBeInstanceOf(QemuFaultError);
        } finally {
          await odd.close();
        }
      }),
      { numRuns: 30 },
    );
  });
});
