// Property-based: the qtest side fed malformed, truncated, oversized and hostile input. The line
// parser only ever returns or throws ProtocolError; the command check never lets through a line
// that would make QEMU 7.2 assert (and die); a hostile peer never leaves a command hanging.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ProtocolError, QemuFaultError } from '../../packages/core/src/errors.js';
import { QtestClient } from '../../packages/core/src/qtest/qtest-client.js';
import { checkCommandLine, parseQtestLine } from '../../packages/core/src/qtest/qtest-protocol.js';
import { LineReader } from '../../packages/core/src/transport/line-reader.js';
import { FakeSocketServer, qtestPeer } from '../support/fake-socket-server.js';

const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('O', 'K', ' ', 'F', 'A', 'I', 'L', 'R', 'Q', '\n', '\r', '0', 'x', 'E') }),
);

describe('qtest protocol (property)', () => {
  it('parseQtestLine classifies any line or throws ProtocolError', () => {
    fc.assert(
      fc.property(anyText, (line) => {
        try {
          const parsed = parseQtestLine(line);
          expect(['ok', 'fail', 'irq']).toContain(parsed.kind);
          if (parsed.kind === 'irq') expect(Number.isSafeInteger(parsed.event.line)).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
    );
  });

  it('checkCommandLine lets through only single-spaced printable ASCII words on one line', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.constantFrom('', ' ', 'readl  0x0', 'readl 0x0 ', 'a\nb', 'writel 0x0 0x1\r')), (line) => {
        let accepted = true;
        try {
          checkCommandLine(line);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidArgumentError);
          accepted = false;
        }
        // What QEMU splits and parses without asserting: no line break, no empty word, no control or non-ASCII byte.
        const safe = line.length > 0 && !/[\n\r]/.test(line) && line.split(' ').every((word) => /^[\x21-\x7e]+$/.test(word));
        expect(accepted).toBe(safe);
      }),
    );
  });

  it('LineReader gives back exactly the lines, whatever the chunking, and refuses an overlong one', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ maxLength: 40 }).map((s) => s.replaceAll('\n', ' ')),
          { maxLength: 10 },
        ),
        fc.array(fc.integer({ min: 1, max: 16 }), { maxLength: 30 }),
        (lines, cuts) => {
          const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
          const reader = new LineReader(64 * 4);
          const out: string[] = [];
          let at = 0;
          for (const cut of [...cuts, bytes.length]) {
            out.push(...reader.push(bytes.subarray(at, Math.min(bytes.length, at + cut))));
            at = Math.min(bytes.length, at + cut);
          }
          expect(out).toEqual(lines);
          expect(reader.partial()).toBe('');
        },
      ),
    );
    expect(() => new LineReader(8).push(Buffer.from('123456789'))).toThrow(ProtocolError);
  });
});

describe('QtestClient against a hostile peer (property)', () => {
  let reply: string[] = [];
  let fake: FakeSocketServer;
  beforeAll(async () => {
    fake = await FakeSocketServer.start(
      qtestPeer((_line, socket) => {
        for (const text of reply) socket.write(text);
      }),
    );
  });
  afterAll(() => fake.close());

  const hostileReply = fc.oneof(
    anyText.map((s) => `${s}\n`),
    fc.constantFrom(
      'OK\n',
      'OK 0x\n',
      'OK 0xffffffffffffffffffffffff\n',
      'OK -1\n',
      'FAIL\n',
      'ERR\n',
      'IRQ raise 99999999999999999999\n',
      'OK ',
      'IRQ raise 1\nOK 0x1\n',
      'OK 0x1\nOK 0x2\n',
    ),
    fc.integer({ min: 1, max: 2 << 20 }).map((n) => 'x'.repeat(n)),
  );

  it('a command settles, with a value or a QemuFaultError, whatever the peer answers', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(hostileReply, { minLength: 0, maxLength: 4 }),
        fc.constantFrom('readl', 'readq', 'b64read', 'writel'),
        async (answers, command) => {
          reply = answers;
          const qtest = await QtestClient.connect(fake.path, { timeoutMs: 300 });
          try {
            const work =
              command === 'readl'
                ? qtest.readl(0x1000)
                : command === 'readq'
                  ? qtest.readq(0x1000)
                  : command === 'writel'
                    ? qtest.writel(0x1000, 1)
                    : qtest.readBytes(0x1000, 16);
            const outcome = await work.then(
              () => 'value',
              (err: unknown) => err,
            );
            if (outcome !== 'value') expect(outcome).toBeInstanceOf(QemuFaultError);
          } finally {
            await qtest.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses a bulk read too large to hold, before sending anything', async () => {
    reply = ['OK\n'];
    const qtest = await QtestClient.connect(fake.path, { timeoutMs: 300 });
    await expect(qtest.readBytes(0, 2 ** 40)).rejects.toThrow(/over the \d+-byte limit of one read/);
    await qtest.close();
  });
});
