import { TimeoutError } from '../errors.js';

interface Entry<T> {
  operation: string;
  resolve(value: T): void;
  reject(err: Error): void;
  /** When it times out (`performance.now()` time), `Infinity` for never. */
  deadline: number;
  timeoutMs: number;
  onTimeout: ((err: TimeoutError) => void) | undefined;
}

/**
 * Requests awaiting their reply, keyed by id. Each may carry its own timeout, and
 * {@link rejectAll} fails every one at once when the connection goes away, so nothing hangs.
 *
 * One timer serves every timeout: armed for the earliest deadline, it fails what is due when it
 * fires and re-arms for the next. A request that is answered leaves it be, so a request costs no
 * timer of its own (a timer set and cleared per round trip cost qtest's ~2 µs of its ~30). It never
 * keeps the process alive: a request waits on a socket, which does, and which fails it on closing.
 */
export class PendingRequests<K, T> {
  private readonly entries = new Map<K, Entry<T>>();
  private readonly order: K[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  get size(): number {
    return this.entries.size;
  }

  /**
   * Registers `key` and returns the promise its reply will settle. `onTimeout` runs right after a
   * timeout has rejected it (cheaper than a handler on the promise: no promise more per request).
   */
  add(key: K, operation: string, timeoutMs: number | undefined, onTimeout?: (err: TimeoutError) => void): Promise<T> {
    const limited = timeoutMs !== undefined && Number.isFinite(timeoutMs);
    const deadline = limited ? performance.now() + timeoutMs : Infinity;
    return new Promise<T>((resolve, reject) => {
      this.entries.set(key, { operation, resolve, reject, deadline, timeoutMs: timeoutMs ?? Infinity, onTimeout });
      this.order.push(key);
      if (deadline < this.timerAt) this.arm(deadline);
    });
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** The oldest key still pending, for protocols that answer in order. */
  oldest(): K | undefined {
    return this.order.find((k) => this.entries.has(k));
  }

  resolve(key: K, value: T): boolean {
    const entry = this.settle(key);
    entry?.resolve(value);
    return entry !== undefined;
  }

  reject(key: K, err: Error): boolean {
    const entry = this.settle(key);
    entry?.reject(err);
    return entry !== undefined;
  }

  /**
   * Rejects every pending request at once. Pass a function to give each its own error,
   * e.g. one that names the operation that was cut off.
   */
  rejectAll(err: Error | ((key: K, operation: string) => Error)): void {
    for (const [key, entry] of [...this.entries]) {
      this.reject(key, typeof err === 'function' ? err(key, entry.operation) : err);
    }
  }

  private settle(key: K): Entry<T> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    const i = this.order.indexOf(key);
    if (i >= 0) this.order.splice(i, 1);
    return entry;
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    // A timer may fire a little early (its clock is the event loop's): the sweep then re-arms.
    this.timer = setTimeout(this.sweep, Math.max(1, Math.ceil(at - performance.now())));
    this.timer.unref();
  }

  private readonly sweep = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [key, entry] of [...this.entries]) {
      if (entry.deadline > now) {
        next = Math.min(next, entry.deadline);
        continue;
      }
      // Gone already if an earlier one's onTimeout ended the session.
      if (!this.settle(key)) continue;
      const err = new TimeoutError(entry.operation, entry.timeoutMs);
      entry.reject(err);
      entry.onTimeout?.(err);
    }
    if (next < Infinity) this.arm(next);
  };
}
