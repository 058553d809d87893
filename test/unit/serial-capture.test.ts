import { ConnectionClosedError, SerialCapture, TimeoutError } from '@qemu-fault/core';
import { describe, expect, it } from 'vitest';

describe('SerialCapture', () => {
  it('resolves waitFor when the pattern arrives in pieces', async () => {
    const serial = new SerialCapture();
    const waiting = serial.waitFor(/result: (0x[0-9a-f]+)/, { timeoutMs: 1000 });
    serial.push('boot\nresu');
    serial.push('lt: 0x2a\n');
    const match = await waiting;
    expect(match[1]).toBe('0x2a');
    expect(serial.text).toBe('boot\nresult: 0x2a\n');
  });

  it('matches strings literally', async () => {
    const serial = new SerialCapture();
    serial.push('a.b (c)');
    await expect(serial.waitFor('a.b (c)', { timeoutMs: 100 })).resolves.toBeTruthy();
    await expect(serial.waitFor('axb', { timeoutMs: 20 })).rejects.toBeInstanceOf(TimeoutError);
  });

  it('fresh waits ignore earlier output', async () => {
    const serial = new SerialCapture();
    serial.push('tick\n');
    const waiting = serial.waitFor('tick', { timeoutMs: 1000, fresh: true });
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false);
    serial.push('tick\n');
    await waiting;
  });

  it('times out with the output tail in the message', async () => {
    const serial = new SerialCapture();
    serial.push('boot: mps2\n');
    const err = await serial.waitFor('never', { timeoutMs: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toContain('boot: mps2');
  });

  it('fails waiters when the port closes', async () => {
    const serial = new SerialCapture();
    const waiting = serial.waitFor('done', { timeoutMs: 1000 });
    serial.end(new ConnectionClosedError('QEMU exited with code 1'));
    await expect(waiting).rejects.toThrow(/QEMU exited with code 1 before done appeared/);
  });

  it('stops waiting when its signal aborts', async () => {
    const serial = new SerialCapture();
    const stop = new AbortController();
    const waiting = serial.waitFor('never', { timeoutMs: 10_000, signal: stop.signal });
    stop.abort(new Error('run ended'));
    await expect(waiting).rejects.toThrow('run ended');
    await expect(serial.waitFor('x', { signal: AbortSignal.abort(new Error('already')) })).rejects.toThrow('already');
  });

  it('keeps memory bounded under a flood', () => {
    const serial = new SerialCapture(1000);
    for (let i = 0; i < 100; i++) serial.push('x'.repeat(100));
    expect(serial.text.length).toBe(1000);
    expect(serial.totalChars).toBe(10_000);
    expect(serial.droppedChars).toBe(9000);
  });

  it('a byte-at-a-time flood: finds a literal split over bytes, matches nothing past the bound', async () => {
    const serial = new SerialCapture(1000);
    const literal = serial.waitFor('needle', { fresh: true });
    const pattern = serial.waitFor(/ne+dle!/, { fresh: true });
    for (const c of `${'x'.repeat(5000)}needle!`) serial.push(c);
    expect((await literal)[0]).toBe('needle');
    expect((await pattern)[0]).toBe('needle!');
    expect(serial.text).toBe(`${'x'.repeat(993)}needle!`);
    expect(serial.droppedChars).toBe(4007);
    // 'old' is in the buffer until the next cut, but past the bound: it must not match.
    serial.push('old');
    for (let i = 0; i < 1000; i++) serial.push('y');
    await expect(serial.waitFor('old', { timeoutMs: 50 })).rejects.toBeInstanceOf(TimeoutError);
  });
});
