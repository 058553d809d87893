import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ProtocolError } from '../../packages/core/src/errors.js';
import { checkCommandLine, checkWord, parseQtestLine } from '../../packages/core/src/qtest/qtest-protocol.js';

describe('parseQtestLine', () => {
  it('parses OK replies with and without values', () => {
    expect(parseQtestLine('OK')).toEqual({ kind: 'ok', text: '' });
    expect(parseQtestLine('OK 0x00000000deadbeef')).toEqual({ kind: 'ok', text: '0x00000000deadbeef' });
    expect(parseQtestLine('OK little')).toEqual({ kind: 'ok', text: 'little' });
    // b64read of 0 bytes
    expect(parseQtestLine('OK ')).toEqual({ kind: 'ok', text: '' });
  });

  it('parses FAIL and ERR as failures, keeping the whole line', () => {
    expect(parseQtestLine("FAIL Unknown command 'foo'")).toEqual({ kind: 'fail', text: "FAIL Unknown command 'foo'" });
    expect(parseQtestLine('FAIL')).toEqual({ kind: 'fail', text: 'FAIL' });
    expect(parseQtestLine('ERR invalid argument size')).toEqual({ kind: 'fail', text: 'ERR invalid argument size' });
  });

  it('parses IRQ events', () => {
    expect(parseQtestLine('IRQ raise 3')).toEqual({ kind: 'irq', event: { level: 'raise', line: 3 } });
    expect(parseQtestLine('IRQ lower 12')).toEqual({ kind: 'irq', event: { level: 'lower', line: 12 } });
  });

  it('rejects anything else', () => {
    for (const line of ['', 'OKAY', 'IRQ raise', 'IRQ up 3', 'FAILED', '{"QMP": {}}', 'ok']) {
      expect(() => parseQtestLine(line), line).toThrow(ProtocolError);
    }
  });
});

describe('command validation', () => {
  it('accepts ordinary commands', () => {
    expect(() => checkCommandLine('readl 0x20000000')).not.toThrow();
    expect(() => checkCommandLine('set_irq_in /machine/armv7m unnamed-gpio-in 3 -1')).not.toThrow();
  });

  it('refuses line breaks, which would inject a second command', () => {
    expect(() => checkCommandLine('readl 0x0\nwritel 0x0 0x1')).toThrow(/inject/);
    expect(() => checkCommandLine('readl 0x0\r')).toThrow(InvalidArgumentError);
  });

  it('refuses lines that make QEMU 7.2 abort: empty, empty words, control characters', () => {
    for (const line of ['', ' ', 'readl  0x0', ' readl 0x0', 'readl 0x0 ', 'readl\t0x0', 'readl 0x\x00']) {
      expect(() => checkCommandLine(line), JSON.stringify(line)).toThrow(InvalidArgumentError);
    }
  });

  it('checks single words', () => {
    expect(() => checkWord('/machine/armv7m', 'path')).not.toThrow();
    expect(() => checkWord('', 'path')).toThrow(InvalidArgumentError);
    expect(() => checkWord('a b', 'path')).toThrow(InvalidArgumentError);
  });
});
