import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../../packages/core/src/errors.js';
import { PendingRequests } from '../../packages/core/src/transport/pending.js';

/** How a request ended, and when. */
const outcome = (p: Promise<unknown>): Promise<{ value?: unknown; error?: unknown; at: number }> =>
  p.then(
    (value) => ({ value, at: performance.now() }),
    (error: unknown) => ({ error, at: performance.now() }),
  );

describe('PendingRequests, one timer for every timeout', () => {
  it('fails a request added later with a shorter limit first, and the longer one at its own time', async () => {
    const pending = new PendingRequests<number, string>();
    const start = performance.now();
    const long = outcome(pending.add(1, 'long', 120));
    const short = outcome(pending.add(2, 'short', 30));
    const s = await short;
    expect(s.error).toBeInstanceOf(TimeoutError);
    expect((s.error as TimeoutError).timeoutMs).toBe(30);
    expect(s.at - start).toBeGreaterThanOrEqual(29);
    expect(pending.has(1)).toBe(true);
    const l = await long;
    expect((l.error as TimeoutError).message).toContain('long');
    expect(l.at - start).toBeGreaterThanOrEqual(119);
    expect(pending.size).toBe(0);
  });

  it('leaves answered requests alone and still times out the ones after them, calling onTimeout once', async () => {
    const pending = new PendingRequests<number, string>();
    const answered = pending.add(1, 'answered', 20);
    expect(pending.resolve(1, 'yes')).toBe(true);
    await expect(answered).resolves.toBe('yes');
    const timeouts: TimeoutError[] = [];
    const late = outcome(pending.add(2, 'late', 40, (err) => timeouts.push(err)));
    const never = pending.add(3, 'no limit', undefined);
    expect((await late).error).toBeInstanceOf(TimeoutError);
    expect(timeouts).toHaveLength(1);
    expect(pending.has(3)).toBe(true);
    pending.rejectAll(new Error('gone'));
    await expect(never).rejects.toThrow('gone');
  });

  it('an onTimeout that fails the rest (a session ending) leaves nothing to fail twice', async () => {
    const pending = new PendingRequests<number, string>();
    const errors: unknown[] = [];
    const end = () => pending.rejectAll(new Error('session ended'));
    const a = outcome(pending.add(1, 'a', 20, end));
    const b = outcome(pending.add(2, 'b', 20, end));
    for (const o of await Promise.all([a, b])) errors.push(o.error);
    expect(errors.filter((e) => e instanceof TimeoutError)).toHaveLength(1);
    expect(errors.filter((e) => e instanceof Error && e.message === 'session ended')).toHaveLength(1);
  });
});
