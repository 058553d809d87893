import { ConnectionClosedError, EventOverflowError, TimeoutError } from '../errors.js';

export { EventOverflowError } from '../errors.js';

/** When QEMU emitted an event (host wall clock). */
export interface QmpTimestamp {
  seconds: number;
  microseconds: number;
}

/** An asynchronous QMP event such as `STOP`, `RESUME` or `SHUTDOWN`. */
export interface QmpEvent<D = Record<string, unknown>> {
  event: string;
  /** The event's payload; `{}` when QEMU sent none (e.g. `STOP`). */
  data: D;
  timestamp: QmpTimestamp;
}

export type QmpEventListener = (event: QmpEvent) => void;

/** Which events to take: one name, several names, or any predicate. */
export type QmpEventFilter = string | readonly string[] | ((event: QmpEvent) => boolean);

export interface OnceOptions {
  /** Reject with a {@link TimeoutError} if no matching event arrives in time (default: wait until closed). */
  timeoutMs?: number;
  /** Only settle on an event this accepts, e.g. `(e) => e.data.reason === 'guest-shutdown'`. */
  filter?: (event: QmpEvent) => boolean;
}

export interface EventStreamOptions {
  /** Events held for a slow consumer before the iterator fails with {@link EventOverflowError} (default 1000). */
  maxBuffered?: number;
}

export const DEFAULT_MAX_BUFFERED_EVENTS = 1000;

/**
 * Fans QMP events out to listeners, one-shot waiters and async iterators. Kept apart from the
 * command/reply machinery (as QEMU's python `qemu.qmp` does) so it can be tested on its own.
 */
export class EventHub {
  private readonly listeners = new Map<string, Set<QmpEventListener>>();
  private readonly closeHooks = new Set<(reason: Error) => void>();
  private closeReason: Error | undefined;

  /** @param reportError receives exceptions thrown by listeners, which must not break delivery to others. */
  constructor(private readonly reportError: (err: unknown) => void = () => {}) {}

  /** True once {@link close} has run; listeners then never fire again. */
  get isClosed(): boolean {
    return this.closeReason !== undefined;
  }

  /** Calls `listener` for every event called `name` (or every event, for `'*'`). Returns the unsubscribe function. */
  on(name: string, listener: QmpEventListener): () => void {
    if (this.closeReason) return () => {};
    const set = this.listeners.get(name) ?? new Set<QmpEventListener>();
    this.listeners.set(name, set);
    // Wrap so the same function can be subscribed twice and unsubscribed independently.
    const entry: QmpEventListener = (e) => listener(e);
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.listeners.get(name) === set) this.listeners.delete(name);
    };
  }

  /**
   * Resolves with the next event called `name` (or any, for `'*'`) that passes `filter`.
   * Subscribe before triggering the event (e.g. before `execute('stop')`), since it is not replayed.
   * Rejects with {@link TimeoutError}, or {@link ConnectionClosedError} when the connection ends first.
   */
  once(name: string, options: OnceOptions = {}): Promise<QmpEvent> {
    const { timeoutMs, filter } = options;
    return new Promise<QmpEvent>((resolve, reject) => {
      if (this.closeReason) return reject(this.closedWhileWaiting(name, this.closeReason));
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        off();
        this.closeHooks.delete(onClose);
      };
      const off = this.on(name, (e) => {
        if (filter && !filter(e)) return;
        finish();
        resolve(e);
      });
      const onClose = (reason: Error): void => {
        finish();
        reject(this.closedWhileWaiting(name, reason));
      };
      this.closeHooks.add(onClose);
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          finish();
          reject(new TimeoutError(`waiting for QMP event '${name}'`, timeoutMs));
        }, timeoutMs);
      }
    });
  }

  /**
   * An async iterator over matching events, buffered from the moment it is created, so events that
   * arrive while the consumer awaits something else (typically a command reply) are kept.
   * It ends when the connection closes (after yielding what it buffered); `break` unsubscribes it.
   */
  events(filter?: QmpEventFilter, options: EventStreamOptions = {}): AsyncIterableIterator<QmpEvent> {
    const accept = toPredicate(filter);
    const stream = new EventStream(options.maxBuffered ?? DEFAULT_MAX_BUFFERED_EVENTS, () => {
      off();
      this.closeHooks.delete(end);
    });
    const off = this.on('*', (e) => {
      if (accept(e)) stream.push(e);
    });
    const end = (): void => stream.end();
    if (this.closeReason) stream.end();
    else this.closeHooks.add(end);
    return stream;
  }

  /** `for await (const e of hub)`: every event, as {@link events} with no filter. */
  [Symbol.asyncIterator](): AsyncIterableIterator<QmpEvent> {
    return this.events();
  }

  /** Delivers one event to its named listeners, then to `'*'` listeners. */
  emit(event: QmpEvent): void {
    if (this.closeReason) return;
    for (const name of [event.event, '*']) {
      const set = this.listeners.get(name);
      if (!set) continue;
      // Copy: listeners may unsubscribe (or subscribe) while we iterate.
      for (const listener of [...set]) {
        try {
          listener(event);
        } catch (err) {
          this.reportError(err);
        }
      }
    }
  }

  /** Ends every iterator and rejects every waiter; later subscriptions are inert. Idempotent. */
  close(reason: Error): void {
    if (this.closeReason) return;
    this.closeReason = reason;
    for (const hook of [...this.closeHooks]) hook(reason);
    this.closeHooks.clear();
    this.listeners.clear();
  }

  private closedWhileWaiting(name: string, reason: Error): ConnectionClosedError {
    return new ConnectionClosedError(`stopped waiting for QMP event '${name}': ${reason.message}`, { cause: reason });
  }
}

function toPredicate(filter: QmpEventFilter | undefined): (e: QmpEvent) => boolean {
  if (filter === undefined) return () => true;
  if (typeof filter === 'function') return filter;
  if (typeof filter === 'string') return (e) => filter === '*' || e.event === filter;
  const names = new Set(filter);
  return (e) => names.has(e.event);
}

/** A bounded queue behind the async-iterator protocol. */
class EventStream implements AsyncIterableIterator<QmpEvent> {
  private readonly queue: QmpEvent[] = [];
  private readonly waiters: Array<(r: IteratorResult<QmpEvent>) => void> = [];
  private failure: Error | undefined;
  private ended = false;

  constructor(
    private readonly maxBuffered: number,
    private readonly unsubscribe: () => void,
  ) {}

  push(event: QmpEvent): void {
    if (this.ended) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter({ value: event, done: false });
      return;
    }
    if (this.queue.length >= this.maxBuffered) {
      // Keep what we have; the consumer gets it, then the error, in order.
      this.failure = new EventOverflowError(this.maxBuffered);
      this.end();
      return;
    }
    this.queue.push(event);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribe();
    // Waiters only exist while the queue is empty, so nothing buffered is skipped.
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<QmpEvent>> {
    const value = this.queue.shift();
    if (value) return Promise.resolve({ value, done: false });
    if (this.failure) {
      const failure = this.failure;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  return(): Promise<IteratorResult<QmpEvent>> {
    this.queue.length = 0;
    this.failure = undefined;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<QmpEvent> {
    return this;
  }
}
