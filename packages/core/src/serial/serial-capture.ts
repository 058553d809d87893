import type { Socket } from 'node:net';
import { ConnectionClosedError, InvalidArgumentError, TimeoutError } from '../errors.js';

/** Options for {@link SerialCapture.waitFor}. */
export interface WaitForOptions {
  /** Give up after this much wall-clock time (default 10 000 ms). */
  timeoutMs?: number;
  /** Only look at output that arrives after this call (default: the whole capture counts). */
  fresh?: boolean;
  /** Stops waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Default bound on kept output: a guest flooding its UART must not grow our memory without limit. */
const DEFAULT_LIMIT = 1 << 20;

/**
 * The guest UART's output as text, as it arrives. Only the last `limit` characters are kept
 * ({@link droppedChars} counts what was let go); the guest's bytes are never interpreted, only stored.
 *
 * A flooding guest sends a byte per socket write: the buffer may grow to twice the bound before
 * it is cut back, so that cutting (a copy of the whole buffer) happens once per `limit` characters
 * rather than once per byte. What is past the bound is never shown nor matched.
 */
export class SerialCapture {
  /** The output kept: its last `limit` characters are the capture, the rest awaits the next cut. */
  private buffer = '';
  /** Characters cut from the buffer's front so far. */
  private cut = 0;
  private total = 0;
  private ended: Error | undefined;
  private readonly listeners = new Set<(text: string) => void>();
  private readonly waiters = new Set<() => void>();
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly limit = DEFAULT_LIMIT) {}

  /**
   * Starts capturing from a connected socket; `describeEnd` says why it closed (e.g. QEMU's exit,
   * which may only be known a moment after the socket closes: it may return a promise).
   */
  attach(socket: Socket, describeEnd: () => string | Promise<string> = () => 'the serial port closed'): void {
    socket.on('data', (chunk: Buffer) => this.push(this.decoder.decode(chunk, { stream: true })));
    socket.on('close', () => {
      void Promise.resolve()
        .then(describeEnd)
        .catch(() => 'the serial port closed')
        .then((reason) => this.end(new ConnectionClosedError(reason)));
    });
    socket.on('error', () => socket.destroy());
  }

  /** Adds text (from the socket, or from a test double). */
  push(text: string): void {
    if (!text) return;
    this.total += text.length;
    this.buffer += text;
    if (this.buffer.length > 2 * this.limit) {
      const cut = this.buffer.length - this.limit;
      this.buffer = this.buffer.slice(cut);
      this.cut += cut;
    }
    for (const listener of this.listeners) listener(text);
    for (const wake of this.waiters) wake();
  }

  /** Marks the end of output: pending {@link waitFor} calls fail with `reason`. */
  end(reason: Error): void {
    if (this.ended) return;
    this.ended = reason;
    for (const wake of this.waiters) wake();
  }

  /** Everything kept so far. */
  get text(): string {
    return this.buffer.length > this.limit ? this.buffer.slice(-this.limit) : this.buffer;
  }

  /** Characters received in total, including those no longer kept. */
  get totalChars(): number {
    return this.total;
  }

  /** Characters dropped from the front because of the size bound. */
  get droppedChars(): number {
    return this.cut + Math.max(0, this.buffer.length - this.limit);
  }

  /** Calls `listener` with every new piece of output; returns the unsubscribe function. */
  onData(listener: (text: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forgets the output kept so far (e.g. between phases of a test). */
  clear(): void {
    this.cut += this.buffer.length;
    this.buffer = '';
  }

  /**
   * Resolves with the first match of `pattern` in the output (a string matches literally).
   * Rejects with a {@link TimeoutError} that quotes the output's tail, or a
   * {@link ConnectionClosedError} if the port closes (QEMU exited) before the pattern appears.
   */
  waitFor(pattern: string | RegExp, options: WaitForOptions = {}): Promise<RegExpExecArray> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!(timeoutMs > 0)) throw new InvalidArgumentError(`timeoutMs must be a positive number, got ${timeoutMs}`);
    const regex =
      typeof pattern === 'string' ? new RegExp(escapeRegExp(pattern)) : new RegExp(pattern.source, pattern.flags.replace('g', ''));
    const startTotal = options.fresh ? this.total : 0;
    // A literal that was not found so far can only end in what arrives next: the search need not
    // go over the whole capture again for every byte of a flood.
    const overlap = typeof pattern === 'string' ? pattern.length - 1 : undefined;
    let searched = startTotal;

    return new Promise((resolve, reject) => {
      const check = () => {
        const seenFrom = overlap === undefined ? startTotal : Math.max(startTotal, searched - overlap);
        searched = this.total;
        const from = Math.max(0, seenFrom - this.cut, this.buffer.length - this.limit);
        const match = regex.exec(this.buffer.slice(from));
        if (match) return finish(() => resolve(match));
        if (this.ended) {
          const reason = this.ended;
          return finish(() =>
            reject(
              new ConnectionClosedError(`${reason.message} before ${String(pattern)} appeared on the serial port ${this.tailForError()}`),
            ),
          );
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new TimeoutError(`waiting for ${String(pattern)} on the serial port`, timeoutMs, this.tailForError()))),
        timeoutMs,
      );
      const abort = () => finish(() => reject(options.signal!.reason));
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        options.signal?.removeEventListener('abort', abort);
        settle();
      };
      if (options.signal?.aborted) return abort();
      options.signal?.addEventListener('abort', abort);
      this.waiters.add(check);
      check();
    });
  }

  private tailForError(): string {
    const tail = this.buffer.slice(-Math.min(400, this.limit));
    return tail ? `(serial output so far ends with: ${JSON.stringify(tail)})` : '(no serial output)';
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
