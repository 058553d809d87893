import type { Socket } from 'node:net';
import { ConnectionClosedError, ProtocolError, type QemuFaultError, TimeoutError } from '../errors.js';
import { formatAddress, parseAddress, type SocketAddress } from './address.js';
import type { CloseInfo } from './close-info.js';
import { connectSocket } from './connect.js';
import type { FrameDecoder } from './frame-decoder.js';
import { PendingRequests } from './pending.js';
import { asProjectError, connectionEnded, handshakeTimeout, lateReply, peerClosed } from './session-errors.js';
import type { ExchangeOptions, ExplainLostConnection, HandshakeLimit, RunState, SessionSetup, TraceFn } from './session-options.js';

export type * from './session-options.js';

/**
 * The base of every protocol channel: one socket, its run state, the `closed` promise, shutdown,
 * tracing, requests awaiting replies with their own time limits, and a bounded frame decoder.
 *
 * A subclass supplies the decoder, {@link handshake} (its opening exchange) and {@link receive}
 * (what each frame means); it sends with {@link exchange} and settles replies with {@link answer}.
 * The session is built on a connected socket: {@link open} connects one with a time limit, and a
 * server (such as our plugin's listener) passes the socket it accepted, then calls {@link begin}.
 *
 * Every failure is a project error: {@link ConnectionClosedError} naming the request and why the
 * connection ended (its `cause` is the close info's error), {@link TimeoutError},
 * {@link ProtocolError} when the peer breaks the protocol or a decoder's bound.
 *
 * The socket is read as bytes: do not set an encoding on it.
 *
 * @example A line protocol served by us (the peer connects to our socket) that greets with a
 * `! hello` event, answers `<id> ok|err <text>` in any order, and sends `! <event>` lines meanwhile:
 * class Channel extends Session<string, { ok: boolean; text: string }> {
 *   private nextId = 1;
 *   static async start(accepted: Socket): Promise<Channel> {
 *     const channel = new Channel(accepted, { protocol: 'plugin', address: 'plugin socket', decoder: new LineReader(1 << 20) });
 *     await channel.begin({ timeoutMs: 5000 });
 *     return channel;
 *   }
 *   async command(text: string): Promise<string> {
 *     const id = this.nextId++;
 *     const reply = await this.exchange(`plugin command '${text}'`, `${id} ${text}\n`, { id, timeoutMs: 5000, onTimeout: 'keep', trace: text });
 *     if (!reply.ok) throw new PluginError(reply.text);
 *     return reply.text;
 *   }
 *   protected async handshake(): Promise<void> {
 *     await this.exchange('plugin hello', undefined, { id: 0 }); // settled by the hello event
 *   }
 *   protected receive(line: string): void {
 *     this.trace('recv', line);
 *     if (line.startsWith('! hello')) this.answer({ ok: true, text: line }, 0);
 *     else if (line.startsWith('! ')) this.onEvent(line.slice(2));
 *     else {
 *       const reply = /^(\d+) (ok|err)(?: (.*))?$/.exec(line);
 *       if (!reply) throw new ProtocolError(`unexpected line from the plugin: ${JSON.stringify(line)}`);
 *       this.answer({ ok: reply[2] === 'ok', text: reply[3] ?? '' }, Number(reply[1])); // false for a late reply: ignored
 *     }
 *   }
 * }
 */
export abstract class Session<F, R> {
  /** Resolves (never rejects) once the socket has closed, saying why the connection ended. */
  readonly closed: Promise<CloseInfo>;
  /** The peer, printable. */
  readonly address: string;

  private readonly protocol: string;
  private readonly decoder: FrameDecoder<F>;
  private readonly pending = new PendingRequests<number, R>();
  private readonly traceFn: TraceFn | undefined;
  private readonly explain: ExplainLostConnection | undefined;
  private readonly cutOff: string;
  private readonly closeGraceMs: number | undefined;
  private runState: RunState = 'connecting';
  private ending: CloseInfo | undefined;
  private sequence = 0;

  protected constructor(
    private readonly socket: Socket,
    setup: SessionSetup<F>,
  ) {
    this.protocol = setup.protocol;
    this.address = setup.address;
    this.decoder = setup.decoder;
    this.traceFn = setup.trace;
    this.explain = setup.explainLostConnection;
    this.cutOff = setup.cutOff ?? 'not answered';
    this.closeGraceMs = setup.closeGraceMs;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A reset or broken pipe is QEMU exiting with our bytes unread: the peer went, nothing broke.
      const byPeer = err.code === 'ECONNRESET' || err.code === 'EPIPE';
      this.shutdown({ by: byPeer ? 'peer' : 'error', reason: `socket error: ${err.code ?? err.message}`, error: err });
    });
    this.closed = new Promise((resolve) => {
      const onClose = (): void => {
        this.shutdown({ by: 'peer', reason: peerClosed(this.address, this.decoder.partial()) });
        this.runState = 'closed';
        resolve(this.ending!);
      };
      // An accepted socket may have closed before it was handed over.
      if (socket.closed) queueMicrotask(onClose);
      else socket.once('close', onClose);
    });
  }

  /**
   * Connects to `address`, builds the session on the socket with `create` and runs its handshake,
   * all within `timeoutMs`.
   * @throws {ConnectionError} nothing listens there or it does not accept in time; whatever the
   *   handshake throws ({@link begin}).
   */
  protected static async open<S extends Session<unknown, unknown>>(
    address: string | SocketAddress,
    timeoutMs: number,
    create: (socket: Socket, address: string) => S,
  ): Promise<S> {
    const startedAt = Date.now();
    const socket = await connectSocket(address, { timeoutMs });
    const session = create(socket, formatAddress(parseAddress(address)));
    await session.begin({ timeoutMs, startedAt });
    return session;
  }

  /** Where the session is in its life. */
  get state(): RunState {
    return this.runState;
  }

  /** True once the connection has ended (or is ending). */
  get isClosed(): boolean {
    return this.ending !== undefined;
  }

  /** Closes the connection; requests still waiting fail with {@link ConnectionClosedError}. Idempotent. */
  async close(): Promise<void> {
    this.shutdown({ by: 'local', reason: 'closed by the client' });
    await this.closed;
  }

  /** The opening exchange (greeting, negotiation) that must succeed before the session is of use. */
  protected abstract handshake(): Promise<void>;

  /** Handles one frame. A throw ends the session: a {@link ProtocolError} as it is, anything else as one. */
  protected abstract receive(frame: F): void;

  /** Appended to the {@link TimeoutError} of a handshake that ran out of time, e.g. a likely cause. */
  protected handshakeHint(): string {
    return '';
  }

  /** Called once when the session ends, after the requests still waiting have been failed. */
  protected onShutdown(_info: CloseInfo): void {}

  /**
   * Runs {@link handshake} within `limit`; the session is `running` once it succeeds. If it fails,
   * the session ends and the error is thrown: a {@link TimeoutError} naming the handshake if time
   * ran out, the {@link ProtocolError} if the peer does not speak the protocol.
   */
  protected async begin(limit: HandshakeLimit): Promise<void> {
    const { timeoutMs } = limit;
    const remaining = Math.max(1, (limit.startedAt ?? Date.now()) + timeoutMs - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.handshakeTimedOut(timeoutMs)), remaining);
    });
    try {
      await Promise.race([this.handshake(), expired]);
      if (!this.ending) this.runState = 'running';
    } catch (err) {
      const failure = this.handshakeFailure(err, timeoutMs);
      this.shutdown({ by: 'error', reason: `handshake failed: ${failure.message}`, error: failure });
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends `bytes` (nothing if `undefined`: a greeting is awaited) and resolves with the reply that
   * {@link answer} settles. `operation` names the request in errors, e.g. `qtest command 'readl 0x0'`.
   * @throws {TimeoutError} no reply in time; {@link ConnectionClosedError} the connection ended
   *   first (explained by `explainLostConnection` if it was lost).
   */
  protected exchange(operation: string, bytes: string | Uint8Array | undefined, options: ExchangeOptions = {}): Promise<R> {
    if (this.ending) return this.explained(Promise.reject(this.endedError(`${operation} not sent`)));
    const id = options.id ?? this.sequence++;
    const reply = this.pending.add(id, operation, options.timeoutMs);
    if (options.onTimeout !== 'keep') {
      reply.catch((err: unknown) => {
        if (err instanceof TimeoutError) this.shutdown({ by: 'error', reason: lateReply(err), error: err });
      });
    }
    if (bytes !== undefined) this.send(bytes, options.trace);
    return this.explained(reply);
  }

  /** Settles request `id` (default: the oldest waiting, for protocols that answer in order); false if none such waits. */
  protected answer(reply: R, id = this.pending.oldest()): boolean {
    return id !== undefined && this.pending.resolve(id, reply);
  }

  /** How many requests wait for their reply. */
  protected get waitingCount(): number {
    return this.pending.size;
  }

  /** Whether a request with this id waits for its reply. */
  protected isWaiting(id: number): boolean {
    return this.pending.has(id);
  }

  /** Writes to the peer (nothing once the session has ended), tracing `traced` if given. */
  protected send(bytes: string | Uint8Array, traced?: string): void {
    if (this.ending) return;
    if (traced !== undefined) this.trace('send', traced);
    this.socket.write(bytes);
  }

  /** Passes a note or message to the trace function, which must never break the protocol. */
  protected trace(direction: 'send' | 'recv', text: string): void {
    try {
      this.traceFn?.(direction, text);
    } catch {
      // Tracing is diagnostics only.
    }
  }

  /** Ends the session because the stream cannot be trusted any more. */
  protected fail(error: QemuFaultError): void {
    this.shutdown({ by: 'error', reason: error.message, error });
  }

  /** Ends the session, once, however it ends: fails what waits, then releases the socket. */
  protected shutdown(info: CloseInfo): void {
    if (this.ending) return;
    this.ending = info;
    this.runState = 'disconnecting';
    this.pending.rejectAll((_id, operation) => this.endedError(`${operation} ${this.cutOff}`));
    this.onShutdown(info);
    if (info.by === 'local' && this.closeGraceMs !== undefined) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), this.closeGraceMs).unref();
    } else {
      this.socket.destroy();
    }
  }

  /** `<what>: <protocol> connection to <address> ended (<reason>)`; only once the session has ended. */
  protected endedError(what: string): ConnectionClosedError {
    return connectionEnded(what, this.protocol, this.address, this.ending!);
  }

  private onData(chunk: Buffer): void {
    if (this.ending) return;
    try {
      this.deliver(this.decoder.push(chunk));
    } catch (err) {
      this.fail(asProjectError(err, this.protocol, 'input'));
    }
  }

  private onEnd(): void {
    if (!this.ending) this.deliver(this.decoder.end());
    this.shutdown({ by: 'peer', reason: peerClosed(this.address, this.decoder.partial()) });
  }

  private deliver(frames: F[]): void {
    for (const frame of frames) {
      if (this.ending) return;
      try {
        this.receive(frame);
      } catch (err) {
        this.fail(asProjectError(err, this.protocol, 'input'));
      }
    }
  }

  private handshakeFailure(err: unknown, timeoutMs: number): QemuFaultError {
    // A request's own time limit may run out first: it is the handshake's all the same.
    if (err instanceof TimeoutError) return this.handshakeTimedOut(timeoutMs);
    // A peer that broke the protocol ended the session: say that, not that the session ended.
    if (err instanceof ConnectionClosedError && this.ending?.error instanceof ProtocolError) return this.ending.error;
    return asProjectError(err, this.protocol, 'handshake');
  }

  private handshakeTimedOut(timeoutMs: number): TimeoutError {
    return handshakeTimeout(this.protocol, this.address, timeoutMs, this.handshakeHint());
  }

  private explained(reply: Promise<R>): Promise<R> {
    const explain = this.explain;
    if (!explain) return reply;
    return reply.catch(async (err: unknown) => {
      if (!(err instanceof ConnectionClosedError) || this.ending?.by === 'local') throw err;
      throw await explain(err).catch(() => err);
    });
  }
}
