import { describe, expect, it } from 'vitest';
import { parseHmpBytes } from '../../packages/core/src/framework/memory-access.js';
import { OutputTail } from '../../packages/core/src/launch/output-tail.js';

describe('OutputTail', () => {
  it('keeps only the last lines within its limit', () => {
    const tail = new OutputTail(32);
    for (let i = 0; i < 20; i++) tail.push(Buffer.from(`line ${i}\n`));
    const text = tail.text();
    expect(text.endsWith('line 19')).toBe(true);
    expect(text).not.toContain('line 1\n');
    expect(text.length).toBeLessThanOrEqual(32);
    expect(text.startsWith('line ')).toBe(true);
  });
});

describe('parseHmpBytes', () => {
  it('reads bytes from HMP x output over several lines', () => {
    const text = '20000000: 0x01 0x02 0x03 0x04 0x05 0x06 0x07 0x08\r\n20000008: 0xff\r\n';
    expect(parseHmpBytes(text, 'x /9xb 0x20000000')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 255]);
  });

  it('fails clearly when QEMU printed an error instead', () => {
    expect(() => parseHmpBytes('Cannot access memory\r\n', 'x /4xb 0x1')).toThrow(/read nothing: Cannot access memory/);
  });
});
