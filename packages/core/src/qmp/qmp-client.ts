import type { Socket } from 'node:net';
import { ConnectionClosedError, InvalidArgumentError, ProtocolError, QmpError, TimeoutError } from '../errors.js';
import { formatAddress, parseAddress, type SocketAddress } from '../transport/address.js';
import { onSocketEnd } from '../transport/close-info.js';
import { connectSocket } from '../transport/connect.js';
import { JsonStream, type JsonStreamOptions } from '../transport/json-stream.js';
import { PendingRequests } from '../transport/pending.js';
import { EventHub, type QmpEvent } from './events.js';

export type { EventStreamOptions, OnceOptions, QmpEvent, QmpEventFilter, QmpEventListener, QmpTimestamp } from './events.js';
export { EventHub, EventOverflowError } from './events.js';

/** The first message QEMU sends on a QMP connection. */
export interface QmpGreeting {
  QMP: {
    version: { qemu: { major: number; minor: number; micro: number }; package: string };
    capabilities: string[];
  };
}

/** QEMU's version, flattened from the greeting. */
export interface QmpVersion {
  major: number;
  minor: number;
  micro: number;
  /** Distribution build string, e.g. `"Debian 1:7.2+dfsg-7"`; may be empty. */
  package: string;
}

/** Receives every message as sent or received, plus `(…)` notes about ignored or invalid input. */
export type QmpTraceFn = (direction: 'send' | 'recv', text: string) => void;

export interface QmpClientOptions extends JsonStreamOptions {
  /** Bound on connecting, reading the greeting and negotiating capabilities, together (default 5000 ms). */
  timeoutMs?: number;
  /** Default time limit of each command (default 30000 ms; `Infinity` for none). */
  commandTimeoutMs?: number;
  /** Called with every message's text, for verbose logging. Exceptions from it are ignored. */
  trace?: QmpTraceFn;
}

export interface QmpExecuteOptions {
  /** Time limit for this command, overriding `commandTimeoutMs`. */
  timeoutMs?: number;
}

/** Why a connection ended, as `closed` reports it. */
export interface QmpCloseInfo {
  /** `local`: {@link QmpClient.close} was called; `peer`: QEMU closed the socket; `error`: socket error or protocol violation. */
  by: 'local' | 'peer' | 'error';
  reason: string;
  error?: Error;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
/** How long a local close waits for QEMU to acknowledge our FIN before cutting the socket. */
const CLOSE_GRACE_MS = 1000;

type Message = Record<string, unknown>;
type State = 'greeting' | 'ready' | 'closed';

/**
 * A QMP (QEMU Machine Protocol) client: JSON framing below, events ({@link EventHub}) beside,
 * commands matched to replies by `id` so any number can be in flight.
 *
 * @example
 * const qmp = await QmpClient.connect('/tmp/vm/qmp.sock');
 * const stopped = qmp.events.once('STOP');
 * await qmp.execute('stop');
 * await stopped;
 */
export class QmpClient {
  /** Resolves (never rejects) once the connection has ended, saying why. */
  readonly closed: Promise<QmpCloseInfo>;
  /**
   * QEMU's asynchronous events: `events.on(name | '*', fn)`, `events.once(name, opts)`,
   * `for await (const e of events.events(filter))`. Everything ends when the connection does.
   */
  readonly events: EventHub;

  private readonly pending = new PendingRequests<number, Message>();
  private readonly stream: JsonStream;
  private readonly protocolListeners = new Set<(err: ProtocolError) => void>();
  private readonly commandTimeoutMs: number;
  private readonly traceFn: QmpTraceFn | undefined;
  private state: State = 'greeting';
  private closeInfo: QmpCloseInfo | undefined;
  /** Ids of commands that timed out: kept out of use until their late reply arrives. */
  private readonly lateIds = new Set<number>();
  private greetingMsg: QmpGreeting | undefined;
  private greetingWaiter: { resolve(g: QmpGreeting): void; reject(err: Error): void } | undefined;
  private commandSet: Promise<Set<string>> | undefined;

  private constructor(
    private readonly socket: Socket,
    /** Printable address, for messages. */
    readonly address: string,
    options: QmpClientOptions,
  ) {
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.traceFn = options.trace;
    this.events = new EventHub((err) => this.trace('recv', `(event listener threw: ${String(err)})`));
    this.stream = new JsonStream(
      {
        message: (value, text) => this.onMessage(value, text),
        // Framing errors leave us unsure where the next message starts, so the connection cannot be trusted.
        error: (err) => this.fail(err),
      },
      options,
    );
    this.closed = onSocketEnd(
      socket,
      (info) => this.shutdown(info),
      () => this.closeInfo!,
      () => `${this.address} closed the connection`,
    );
    socket.on('data', (chunk: Buffer) => {
      try {
        this.stream.push(chunk);
      } catch (err) {
        // Only a bug of ours could land here; never let it escape into the event loop.
        this.fail(new ProtocolError(`failed to handle QMP input: ${String(err)}`));
      }
    });
    socket.on('end', () => {
      this.stream.end();
      this.shutdown({ by: 'peer', reason: `${this.address} closed the connection` });
    });
  }

  /**
   * Connects to a QMP socket, reads the greeting and leaves capabilities-negotiation mode.
   * @param address a unix socket path or `host:port` (see {@link parseAddress}).
   * @throws {ConnectionError} nothing listens there; {@link TimeoutError} no greeting in time;
   *   {@link ProtocolError} the peer does not speak QMP; {@link ConnectionClosedError} it hung up.
   */
  static async connect(address: string | SocketAddress, options: QmpClientOptions = {}): Promise<QmpClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const where = formatAddress(parseAddress(address));
    const socket = await connectSocket(address, { timeoutMs });
    const client = new QmpClient(socket, where, options);
    try {
      await client.waitForGreeting(Math.max(1, deadline - Date.now()));
      // No `enable` list: out-of-band execution is not needed, and events start flowing after this.
      await client.execute('qmp_capabilities', undefined, { timeoutMs: Math.max(1, deadline - Date.now()) });
      return client;
    } catch (err) {
      client.shutdown({ by: 'error', reason: `handshake failed: ${(err as Error).message}`, error: err as Error });
      throw err;
    }
  }

  /** The greeting QEMU sent. */
  get greeting(): QmpGreeting {
    if (!this.greetingMsg) throw new ProtocolError('no QMP greeting received yet');
    return this.greetingMsg;
  }

  /** QEMU's version, from the greeting. */
  get version(): QmpVersion {
    const { qemu, package: pkg } = this.greeting.QMP.version;
    return { major: qemu.major, minor: qemu.minor, micro: qemu.micro, package: pkg };
  }

  /** True once the connection has ended (or is ending). */
  get isClosed(): boolean {
    return this.closeInfo !== undefined;
  }

  /**
   * Runs a QMP command and resolves with its `return` value.
   * @throws {QmpError} QEMU answered with an error (its `class` is `errorClass`);
   *   {@link TimeoutError} no reply in time (a late reply is then ignored);
   *   {@link ConnectionClosedError} the connection ended first.
   */
  async execute<T = unknown>(command: string, args?: Record<string, unknown>, options: QmpExecuteOptions = {}): Promise<T> {
    if (typeof command !== 'string' || command.length === 0) throw new InvalidArgumentError('QMP command name must be a non-empty string');
    if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
      throw new InvalidArgumentError(`arguments of QMP command '${command}' must be an object`);
    }
    if (this.closeInfo) throw this.closedError(`QMP command '${command}' not sent`);
    const id = this.freeId();
    let text: string;
    try {
      text = JSON.stringify(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id });
    } catch (err) {
      throw new InvalidArgumentError(`arguments of QMP command '${command}' cannot be serialised: ${(err as Error).message}`);
    }
    const reply = this.pending.add(id, `QMP command '${command}'`, options.timeoutMs ?? this.commandTimeoutMs);
    reply.catch((err: unknown) => {
      if (err instanceof TimeoutError) this.lateIds.add(id);
    });
    this.trace('send', text);
    // No trailing newline: QEMU reads its monitor byte by byte and stops reading after each complete
    // request until it has run it, so after `quit` a newline would sit unread and QEMU's exit would
    // turn our clean EOF into ECONNRESET. (QEMU's python client does the same.)
    this.socket.write(text);
    const msg = await reply;
    if ('error' in msg) {
      const error = isObject(msg.error) ? msg.error : {};
      const errorClass = typeof error.class === 'string' ? error.class : 'GenericError';
      const desc = typeof error.desc === 'string' ? error.desc : JSON.stringify(msg.error);
      throw new QmpError(command, errorClass, desc);
    }
    return msg.return as T;
  }

  /** Whether this QEMU knows `name`. Runs `query-commands` on first use and caches the answer. */
  async hasCommand(name: string): Promise<boolean> {
    const attempt = (this.commandSet ??= this.execute<Array<{ name: string }>>('query-commands').then(
      (list) => new Set(list.map((c) => c.name)),
    ));
    try {
      return (await attempt).has(name);
    } catch (err) {
      // Do not cache a failure (e.g. a timeout); the next call asks again.
      if (this.commandSet === attempt) this.commandSet = undefined;
      throw err;
    }
  }

  /**
   * Called with each {@link ProtocolError}: messages that are valid JSON but not valid QMP (ignored), and
   * framing errors (which close the connection). Returns the unsubscribe function.
   */
  onProtocolError(listener: (err: ProtocolError) => void): () => void {
    this.protocolListeners.add(listener);
    return () => this.protocolListeners.delete(listener);
  }

  /** Closes the connection; pending commands fail with {@link ConnectionClosedError}. Idempotent. */
  async close(): Promise<void> {
    this.shutdown({ by: 'local', reason: 'closed by the client' });
    await this.closed;
  }

  private waitForGreeting(timeoutMs: number): Promise<QmpGreeting> {
    return new Promise<QmpGreeting>((resolve, reject) => {
      if (this.greetingMsg) return resolve(this.greetingMsg);
      if (this.closeInfo) return reject(this.closedError('no QMP greeting'));
      const timer = setTimeout(() => reject(new TimeoutError(`waiting for the QMP greeting from ${this.address}`, timeoutMs)), timeoutMs);
      this.greetingWaiter = {
        resolve: (g) => (clearTimeout(timer), resolve(g)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      };
    });
  }

  private onMessage(value: unknown, text: string): void {
    this.trace('recv', text);
    if (this.state === 'closed') return;
    if (!isObject(value)) return this.invalid(`QMP message is not a JSON object: ${clip(text)}`);
    if (this.state === 'greeting') return this.onGreeting(value, text);
    if ('event' in value) return this.onEvent(value, text);
    if ('return' in value || 'error' in value) return this.onReply(value, text);
    this.invalid(`unrecognised QMP message: ${clip(text)}`);
  }

  private onGreeting(msg: Message, text: string): void {
    const greeting = parseGreeting(msg);
    if (!greeting) return this.fail(new ProtocolError(`expected a QMP greeting from ${this.address}, got: ${clip(text)}`));
    this.greetingMsg = greeting;
    this.state = 'ready';
    this.greetingWaiter?.resolve(greeting);
    this.greetingWaiter = undefined;
  }

  /**
   * The smallest id not in flight. QEMU reads its monitor one byte per main-loop pass, so every
   * byte of a request costs latency: small numeric ids keep commands matched by id at ~1 byte.
   */
  private freeId(): number {
    let id = 0;
    while (this.pending.has(id) || this.lateIds.has(id)) id++;
    return id;
  }

  private onEvent(msg: Message, text: string): void {
    const event = parseEvent(msg);
    if (!event) return this.invalid(`malformed QMP event: ${clip(text)}`);
    this.events.emit(event);
  }

  private onReply(msg: Message, text: string): void {
    const id = msg.id;
    if (typeof id === 'number' && this.pending.resolve(id, msg)) return;
    if (typeof id === 'number' && this.lateIds.delete(id)) {
      return this.trace('recv', `(ignored: late reply to timed-out command id ${id})`);
    }
    if (id === undefined && 'error' in msg) {
      // QEMU could not even read a request's id; we never send such requests, so something is badly off.
      return this.invalid(`QMP error reply without an id: ${clip(text)}`);
    }
    // Typically the reply to a command that already timed out.
    this.trace('recv', `(ignored: no pending command has id ${JSON.stringify(id)})`);
  }

  /** A message we cannot use, but the stream is intact: report it and carry on. */
  private invalid(message: string): void {
    this.reportProtocolError(new ProtocolError(message));
  }

  /** The stream itself is broken: report it and drop the connection. */
  private fail(err: ProtocolError): void {
    if (this.closeInfo) return;
    this.reportProtocolError(err);
    this.shutdown({ by: 'error', reason: err.message, error: err });
  }

  private reportProtocolError(err: ProtocolError): void {
    this.trace('recv', `(protocol error: ${err.message})`);
    for (const listener of [...this.protocolListeners]) {
      try {
        listener(err);
      } catch {
        // A broken listener must not take the connection down.
      }
    }
  }

  /** Runs once, however the connection ends: fail everything waiting, then release the socket. */
  private shutdown(info: QmpCloseInfo): void {
    if (this.closeInfo) return;
    this.closeInfo = info;
    this.state = 'closed';
    const cause = info.error;
    this.pending.rejectAll((_id, operation) => this.closedError(`${operation} aborted`, cause));
    this.greetingWaiter?.reject(info.error instanceof ProtocolError ? info.error : this.closedError('no QMP greeting', cause));
    this.greetingWaiter = undefined;
    this.events.close(this.closedError('event stream ended', cause));
    if (info.by === 'local') {
      // Half-close so queued writes (e.g. a final `quit`) still go out; cut it if QEMU does not answer.
      this.socket.end();
      setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
    } else {
      this.socket.destroy();
    }
  }

  private closedError(what: string, cause?: Error): ConnectionClosedError {
    const reason = this.closeInfo?.reason ?? 'connection closed';
    return new ConnectionClosedError(`${what}: QMP connection to ${this.address} ended (${reason})`, cause ? { cause } : undefined);
  }

  private trace(direction: 'send' | 'recv', text: string): void {
    if (!this.traceFn) return;
    try {
      this.traceFn(direction, text);
    } catch {
      // Tracing is diagnostics only.
    }
  }
}

function isObject(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function parseGreeting(msg: Message): QmpGreeting | undefined {
  const qmp = msg.QMP;
  if (!isObject(qmp) || !isObject(qmp.version) || !isObject(qmp.version.qemu)) return undefined;
  const { major, minor, micro } = qmp.version.qemu;
  if (!isFiniteNumber(major) || !isFiniteNumber(minor) || !isFiniteNumber(micro)) return undefined;
  const pkg = typeof qmp.version.package === 'string' ? qmp.version.package : '';
  const capabilities = Array.isArray(qmp.capabilities) ? qmp.capabilities.filter((c): c is string => typeof c === 'string') : [];
  return { QMP: { version: { qemu: { major, minor, micro }, package: pkg }, capabilities } };
}

function parseEvent(msg: Message): QmpEvent | undefined {
  const { event, data, timestamp } = msg;
  if (typeof event !== 'string' || event.length === 0) return undefined;
  if (data !== undefined && !isObject(data)) return undefined;
  if (!isObject(timestamp) || !isFiniteNumber(timestamp.seconds) || !isFiniteNumber(timestamp.microseconds)) return undefined;
  return { event, data: data ?? {}, timestamp: { seconds: timestamp.seconds, microseconds: timestamp.microseconds } };
}

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
