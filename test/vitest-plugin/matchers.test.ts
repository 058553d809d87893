// The serial matchers on a SerialCapture fed by hand (no QEMU).

import { ConnectionClosedError, SerialCapture } from '@qemu-fault/core';
import { describe, expect, test } from 'vitest';
import '../../packages/vitest-plugin/src/index.js';

function capture(text = ''): SerialCapture {
  const serial = new SerialCapture();
  serial.push(text);
  return serial;
}

describe('toPrintOnSerial', () => {
  test('resolves when the pattern arrives, from a capture or anything with `serial`', async () => {
    const serial = capture('boot\n');
    setTimeout(() => serial.push('SAFE STATE: guard\n'), 20);
    await expect(serial).toPrintOnSerial(/SAFE STATE: (\w+)/, { timeoutMs: 1000 });
    await expect({ serial }).toPrintOnSerial('boot');
  });

  test('fails on timeout with the output tail in the message', async () => {
    await expect(expect(capture('auth: denied\n')).toPrintOnSerial('GRANTED', { timeoutMs: 50 })).rejects.toThrow(
      /timed out after 50 ms[\s\S]*auth: denied/,
    );
  });

  test('fails at once when QEMU exits first', async () => {
    const serial = capture('done\n');
    serial.end(new ConnectionClosedError('QEMU exited with code 0'));
    await expect(expect(serial).toPrintOnSerial('SAFE STATE', { timeoutMs: 10_000 })).rejects.toThrow(/QEMU exited with code 0/);
  });

  test('.not waits out the timeout and fails if the pattern shows up', async () => {
    await expect(capture('fine\n')).not.toPrintOnSerial('FAULT', { timeoutMs: 50 });
    const serial = capture();
    setTimeout(() => serial.push('FAULT: guard corrupted\n'), 20);
    await expect(expect(serial).not.toPrintOnSerial('FAULT', { timeoutMs: 1000 })).rejects.toThrow(
      /not to print "FAULT"[\s\S]*FAULT: guard corrupted/,
    );
  });

  test('only looks at new output with `fresh`', async () => {
    await expect(capture('done\n')).not.toPrintOnSerial('done', { timeoutMs: 50, fresh: true });
  });

  test('rejects what has no serial port', async () => {
    await expect(expect(42).toPrintOnSerial('x')).rejects.toThrow(TypeError);
  });
});

describe('toContainOutput', () => {
  test('checks a substring or a RegExp against the output so far', () => {
    const serial = capture('boot: mps2-an385 faultdemo\nauth: denied\n');
    expect(serial).toContainOutput('auth: denied');
    expect(serial).toContainOutput(/^auth: (denied|GRANTED)$/m);
    expect(serial).not.toContainOutput('SAFE STATE');
    expect({ serial }).toContainOutput('faultdemo');
  });

  test('says what the output was', () => {
    expect(() => expect(capture('auth: denied\n')).toContainOutput('GRANTED')).toThrow(
      /expected the serial output to contain "GRANTED"\nserial output:\nauth: denied/,
    );
    expect(() => expect(capture('')).toContainOutput('x')).toThrow(/\(no serial output\)/);
  });
});
