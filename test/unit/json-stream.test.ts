import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../packages/core/src/errors.js';
import { JsonStream, type JsonStreamOptions } from '../../packages/core/src/transport/json-stream.js';

function collect(options?: JsonStreamOptions) {
  const messages: unknown[] = [];
  const texts: string[] = [];
  const errors: ProtocolError[] = [];
  const stream = new JsonStream(
    {
      message: (value, text) => {
        messages.push(value);
        texts.push(text);
      },
      error: (err) => errors.push(err),
    },
    options,
  );
  return { stream, messages, texts, errors };
}

describe('JsonStream', () => {
  it('splits several messages in one chunk, with CRLF and other whitespace between them', () => {
    const { stream, messages, texts, errors } = collect();
    stream.push('{"a": 1}\r\n  {"b": [1, {"c": "}"}]}\r\n\t[2,3]\n{"d":{}}');
    expect(messages).toEqual([{ a: 1 }, { b: [1, { c: '}' }] }, [2, 3], { d: {} }]);
    expect(texts[0]).toBe('{"a": 1}');
    expect(errors).toEqual([]);
  });

  it('reassembles a message split at every possible byte boundary, including inside strings, escapes and UTF-8 sequences', () => {
    const message = { s: 'brace } bracket ] quote " backslash \\ ünïcödé ✓ 😀', n: [1, { x: null }] };
    const json = Buffer.from(JSON.stringify(message), 'utf8');
    const bytes = Buffer.concat([json, Buffer.from('\r\n')]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const { stream, messages, errors } = collect();
      stream.push(bytes.subarray(0, cut));
      expect(messages).toEqual(cut >= json.length ? [message] : []);
      stream.push(bytes.subarray(cut));
      expect(messages, `split at byte ${cut}`).toEqual([message]);
      expect(errors).toEqual([]);
    }
  });

  it('reassembles a message fed one byte at a time', () => {
    const { stream, messages } = collect();
    const bytes = Buffer.from('{"return": {"text": "日本語 \\"quoted\\" {not a brace}"}, "id": "qf-1"}\r\n{"x":1}');
    for (const b of bytes) stream.push(Uint8Array.of(b));
    expect(messages).toEqual([{ return: { text: '日本語 "quoted" {not a brace}' }, id: 'qf-1' }, { x: 1 }]);
  });

  it('does not depend on the caller keeping its buffers intact', () => {
    const { stream, messages } = collect();
    const chunk = Buffer.from('{"key": "val');
    stream.push(chunk);
    chunk.fill(0x20); // a stream owner might reuse its buffer
    stream.push('ue"}');
    expect(messages).toEqual([{ key: 'value' }]);
  });

  it('parses any sequence of objects, however it is chunked (property)', () => {
    const objects = fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { minLength: 1, maxLength: 5 });
    const separators = fc.array(fc.constantFrom('', ' ', '\r\n', '\n', '\t'), { minLength: 5, maxLength: 5 });
    fc.assert(
      fc.property(objects, separators, fc.array(fc.nat(), { maxLength: 10 }), (values, seps, cuts) => {
        const text = values.map((v, i) => JSON.stringify(v) + seps[i]).join('');
        const bytes = Buffer.from(text, 'utf8');
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const { stream, messages, errors } = collect();
        let from = 0;
        for (const p of [...points, bytes.length]) {
          stream.push(bytes.subarray(from, p));
          from = p;
        }
        expect(errors).toEqual([]);
        // Compare as JSON: the property is about framing, and -0 does not survive a JSON round trip anyway.
        expect(messages.map((m) => JSON.stringify(m))).toEqual(values.map((v) => JSON.stringify(v)));
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a message over the size bound, keeps nothing of it, and carries on with the next', () => {
    const { stream, messages, errors } = collect({ maxMessageBytes: 100 });
    const big = JSON.stringify({ blob: 'x'.repeat(500), nested: { s: '}}}' } });
    // Over several chunks, so the bound must hold for buffered partial data too.
    stream.push(big.slice(0, 60));
    stream.push(big.slice(60, 200));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ProtocolError);
    expect(errors[0]!.message).toMatch(/exceeds 100 bytes/);
    expect(stream.bufferedBytes).toBe(0);
    stream.push(`${big.slice(200)}\r\n{"after": true}\r\n`);
    expect(messages).toEqual([{ after: true }]);
    expect(errors).toHaveLength(1);
  });

  it('rejects an oversized message that arrives in a single chunk', () => {
    const { stream, messages, errors } = collect({ maxMessageBytes: 10 });
    stream.push('{"a":"0123456789"}{"b":1}');
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/exceeds 10 bytes/)]);
    expect(messages).toEqual([{ b: 1 }]);
  });

  it('rejects nesting deeper than the bound and resynchronises after the message', () => {
    const { stream, messages, errors } = collect({ maxDepth: 3 });
    stream.push('{"a":[{"b":1}]}');
    expect(messages).toHaveLength(1);
    stream.push('{"a":[{"b":[1]}]}{"ok":1}');
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/deeper than 3/)]);
    expect(messages).toEqual([{ a: [{ b: 1 }] }, { ok: 1 }]);
  });

  it('survives a very deep message from a hostile peer', () => {
    const { stream, messages, errors } = collect();
    stream.push(`${'['.repeat(100_000)}${']'.repeat(100_000)}{"fine":true}`);
    expect(errors).toHaveLength(1);
    expect(messages).toEqual([{ fine: true }]);
  });

  it('reports stray bytes between messages and skips to the next line', () => {
    const { stream, messages, errors } = collect();
    stream.push('{"a":1}\r\nhello garbage}}} {"lost":1}\r\n{"b":2}\r\n');
    expect(messages).toEqual([{ a: 1 }, { b: 2 }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toContain('hello garbage');
  });

  it('reports balanced but malformed JSON and carries on', () => {
    const { stream, messages, errors } = collect();
    stream.push('{"a": 1,}\r\n{bad: true}\r\n{"c":3}');
    expect(errors).toHaveLength(2);
    expect(errors.every((e) => e instanceof ProtocolError && /malformed JSON/.test(e.message))).toBe(true);
    expect(messages).toEqual([{ c: 3 }]);
  });

  it('reports invalid UTF-8', () => {
    const { stream, messages, errors } = collect();
    stream.push(Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}{"b":1}')]));
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/not valid UTF-8/)]);
    expect(messages).toEqual([{ b: 1 }]);
  });

  it('reports a message cut off by the end of the stream', () => {
    const { stream, errors } = collect();
    stream.push('{"a":1}{"half":');
    stream.end();
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/ended inside a JSON message/)]);
    expect(stream.bufferedBytes).toBe(0);
  });

  it('ends quietly between messages', () => {
    const { stream, errors } = collect();
    stream.push('{"a":1}\r\n');
    stream.end();
    expect(errors).toEqual([]);
  });
});
