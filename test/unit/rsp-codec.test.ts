import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../packages/core/src/errors.js';
import { checksum, decodePayload, encodePacket, escapeBinary, RspDecoder, type RspEvent } from '../../packages/core/src/gdb/rsp-codec.js';

const text = (s: string) => Buffer.from(s, 'latin1');
const packets = (events: RspEvent[]) => events.map((e) => (e.kind === 'packet' ? e.payload.toString('latin1') : e.kind));

describe('RSP framing', () => {
  it('computes checksums modulo 256', () => {
    expect(checksum(text(''))).toBe(0);
    expect(checksum(text('OK'))).toBe(0x9a);
    expect(checksum(text('qSupported'))).toBe(0x37);
    expect(checksum(Buffer.alloc(300, 0xff))).toBe((300 * 0xff) & 0xff);
  });

  it('frames packets as QEMU expects them', () => {
    expect(encodePacket('?').toString('latin1')).toBe('$?#3f');
    expect(encodePacket('c').toString('latin1')).toBe('$c#63');
    expect(encodePacket('').toString('latin1')).toBe('$#00');
  });

  it('escapes $ # } * and checksums the escaped bytes', () => {
    expect(escapeBinary(text('a$b#c}d*e')).toString('latin1')).toBe('a}\x04b}\x03c}]d}\x0ae');
    const framed = encodePacket(Buffer.from([0x24])).toString('latin1');
    expect(framed).toBe(`$}\x04#${((0x7d + 0x04) & 0xff).toString(16)}`);
  });

  it('decodes escapes and run-length encoding', () => {
    expect(decodePayload(text('a}\x04b}]')).toString('latin1')).toBe('a$b}');
    // '0* ' is '0' plus 32-29 = 3 more.
    expect(decodePayload(text('0* ')).toString('latin1')).toBe('0000');
    expect(decodePayload(text('x*"y')).toString('latin1')).toBe('xxxxxxy');
    // The repeated byte is the decoded one.
    expect(decodePayload(text('}\x04*!')).toString('latin1')).toBe('$$$$$');
    expect(() => decodePayload(text('*!'))).toThrow(ProtocolError);
    expect(() => decodePayload(text('a*'))).toThrow(ProtocolError);
    expect(() => decodePayload(text('ab}'))).toThrow(ProtocolError);
  });

  it('round-trips any binary payload', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 7 }), (payload, pieces) => {
        const wire = encodePacket(payload);
        const decoder = new RspDecoder();
        const events: RspEvent[] = [];
        const step = Math.ceil(wire.length / pieces);
        for (let i = 0; i < wire.length; i += step) events.push(...decoder.push(wire.subarray(i, i + step)));
        expect(events).toEqual([{ kind: 'packet', payload: Buffer.from(payload) }]);
      }),
    );
  });
});

describe('RspDecoder', () => {
  it('splits merged packets and acks', () => {
    const d = new RspDecoder();
    expect(packets(d.push(text('+$OK#9a+$T05thread:01;#07-')))).toEqual(['ack', 'OK', 'ack', 'T05thread:01;', 'nack']);
  });

  it('joins packets split anywhere, even between checksum digits', () => {
    const d = new RspDecoder();
    const wire = '+$00000000#80$OK#9a';
    const out: RspEvent[] = [];
    for (const ch of wire) out.push(...d.push(text(ch)));
    expect(packets(out)).toEqual(['ack', '00000000', 'OK']);
  });

  it('reports checksum mismatches as corrupt and keeps going', () => {
    const d = new RspDecoder();
    const events = d.push(text('$OK#00$OK#zz$OK#9a'));
    expect(events.map((e) => e.kind)).toEqual(['corrupt', 'corrupt', 'packet']);
  });

  it('reports undecodable bodies as corrupt', () => {
    const body = '*!';
    const events = new RspDecoder().push(text(`$${body}#${checksum(text(body)).toString(16)}`));
    expect(events[0]?.kind).toBe('corrupt');
  });

  it('drops notifications and stray bytes', () => {
    const d = new RspDecoder();
    expect(packets(d.push(text('garbage\x03%Stop:T05#b7$OK#9a')))).toEqual(['OK']);
  });

  it('refuses a packet that never ends', () => {
    const d = new RspDecoder(64);
    expect(d.push(text(`$${'a'.repeat(64)}`))).toEqual([]);
    expect(() => d.push(text('a'))).toThrow(ProtocolError);
  });

  it('does not keep references to the caller’s chunk', () => {
    const d = new RspDecoder();
    const chunk = text('$O');
    d.push(chunk);
    chunk.fill(0x78);
    expect(packets(d.push(text('K#9a')))).toEqual(['OK']);
  });
});
