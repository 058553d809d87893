import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../packages/core/src/errors.js';
import { LineReader } from '../../packages/core/src/transport/line-reader.js';

describe('LineReader', () => {
  it('splits merged lines and keeps IRQ lines interleaved in order', () => {
    const r = new LineReader(100);
    expect(r.push(Buffer.from('IRQ raise 3\nOK\nOK 0x01\n'))).toEqual(['IRQ raise 3', 'OK', 'OK 0x01']);
  });

  it('joins lines split across chunks', () => {
    const r = new LineReader(100);
    expect(r.push(Buffer.from('OK 0x00'))).toEqual([]);
    expect(r.push(Buffer.from('12'))).toEqual([]);
    expect(r.push(Buffer.from('34\nIRQ lo'))).toEqual(['OK 0x001234']);
    expect(r.push(Buffer.from('wer 1\n'))).toEqual(['IRQ lower 1']);
  });

  it('keeps UTF-8 sequences split across chunks intact', () => {
    const r = new LineReader(100);
    const bytes = Buffer.from('FAIL é\n');
    expect(r.push(bytes.subarray(0, 6))).toEqual([]);
    expect(r.push(bytes.subarray(6))).toEqual(['FAIL é']);
  });

  it('refuses an overlong line, whether in one chunk or many', () => {
    expect(() => new LineReader(8).push(Buffer.from('123456789'))).toThrow(ProtocolError);
    const r = new LineReader(8);
    r.push(Buffer.from('1234'));
    r.push(Buffer.from('5678'));
    expect(() => r.push(Buffer.from('9'))).toThrow(ProtocolError);
    // A line of exactly the limit is fine.
    expect(new LineReader(8).push(Buffer.from('12345678\n'))).toEqual(['12345678']);
  });
});

describe('LineReader with a delimiter of several bytes', () => {
  const PROMPT = '(qemu) ';

  it('finds a delimiter split across chunks, wherever it is cut', () => {
    const text = `banner\r\n${PROMPT}info status\r\nVM status: paused\r\n${PROMPT}`;
    for (let cut = 1; cut < text.length; cut++) {
      const r = new LineReader(1000, { delimiter: PROMPT });
      const lines = [...r.push(Buffer.from(text.slice(0, cut))), ...r.push(Buffer.from(text.slice(cut)))];
      expect(lines, `cut at ${cut}`).toEqual(['banner\r\n', 'info status\r\nVM status: paused\r\n']);
      expect(r.partial()).toBe('');
    }
  });

  it('finds it when it arrives one byte at a time, and keeps a near miss as text', () => {
    const r = new LineReader(1000, { delimiter: PROMPT });
    const lines = [...'(qemu (qemu) x'].flatMap((c) => r.push(Buffer.from(c)));
    expect(lines).toEqual(['(qemu ']);
    expect(r.partial()).toBe('x');
  });

  it('names what was too long', () => {
    const r = new LineReader(4, { delimiter: PROMPT, what: 'HMP reply' });
    expect(() => r.push(Buffer.from('12345'))).toThrow(new ProtocolError('HMP reply longer than 4 bytes'));
  });
});
