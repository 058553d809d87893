import { TimeoutError } from '../errors.js';

interface Entry<T> {
  operation: string;
  resolve(value: T): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Requests awaiting their reply, keyed by id. Each may carry its own timeout, and
 * {@link rejectAll} fails every one at once when the connection goes away, so nothing hangs.
 */
export class PendingRequests<K, T> {
  private readonly entries = new Map<K, Entry<T>>();
  private readonly order: K[] = [];

  get size(): number {
    return this.entries.size;
  }

  /** Registers `key` and returns the promise its reply will settle. */
  add(key: K, operation: string, timeoutMs: number | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer =
        timeoutMs === undefined || !Number.isFinite(timeoutMs)
          ? undefined
          : setTimeout(() => this.settle(key)?.reject(new TimeoutError(operation, timeoutMs)), timeoutMs);
      this.entries.set(key, { operation, resolve, reject, timer });
      this.order.push(key);
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
    clearTimeout(entry.timer);
    this.entries.delete(key);
    const i = this.order.indexOf(key);
    if (i >= 0) this.order.splice(i, 1);
    return entry;
  }
}
