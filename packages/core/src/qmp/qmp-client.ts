import type { Socket } from 'node:net';
import { InvalidArgumentError, ProtocolError, type QemuFaultError, QmpError, TimeoutError } from '../errors.js';
import type { SocketAddress } from '../transport/address.js';
import type { CloseInfo } from '../transport/close-info.js';
import { type JsonFrame, type JsonStreamOptions, jsonFrames } from '../transport/json-stream.js';
import { Session, type SessionOptions, type TraceFn } from '../transport/session.js';
import { abbreviate } from '../transport/session-errors.js';
import { EventHub, type QmpEvent } from './events.js';

export type { CloseInfo } from '../transport/close-info.js';
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
export type QmpTraceFn = TraceFn;

export interface QmpClientOptions extends JsonStreamOptions, SessionOptions {
  /** Bound on connecting, reading the greeting and negotiating capabilities, together (default 5000 ms). */
  timeoutMs?: number;
  /** Default time limit of each command (default 30000 ms; `Infinity` for none). */
  commandTimeoutMs?: number;
}

export interface QmpExecuteOptions {
  /** Time limit for this command, overriding `commandTimeoutMs`. */
  timeoutMs?: number;
}

/** Why a connection ended, as `closed` reports it. */
export type QmpCloseInfo = CloseInfo;

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
/** How long a local close waits for QEMU to acknowledge our FIN before cutting the socket. */
const CLOSE_GRACE_MS = 1000;
/** The greeting answers no command: it is awaited under an id no command gets. */
const GREETING_ID = -1;
/** The key of the command sent without an id (at most one waits): never an id on the wire. */
const UNNUMBERED = -2;
const NO_GREETING_HINT = '(no greeting: QEMU greets one client at a time: is another one connected?)';

type Message = Record<string, unknown>;

/**
 * A QMP (QEMU Machine Protocol) client: JSON framing below, events ({@link EventHub}) beside,
 * commands matched to replies by `id` so any number can be in flight.
 *
 * A command sent while no other waits (the usual case) goes without an id: QEMU reads its monitor
 * one byte per main-loop pass, so `,"id":0` would cost each such round trip a fifth more. Its
 * reply is the one without an id; QEMU answers commands in order, so one sent after it (with an
 * id) cannot be answered first. One that timed out keeps the next commands numbered until its
 * late reply has come.
 *
 * @example
 * const qmp = await QmpClient.connect('/tmp/vm/qmp.sock');
 * const stopped = qmp.events.once('STOP');
 * await qmp.execute('stop');
 * await stopped;
 */
export class QmpClient extends Session<JsonFrame, Message> {
  /**
   * QEMU's asynchronous events: `events.on(name | '*', fn)`, `events.once(name, opts)`,
   * `for await (const e of events.events(filter))`. Everything ends when the connection does.
   */
  readonly events: EventHub;

  private readonly protocolListeners = new Set<(err: ProtocolError) => void>();
  private readonly commandTimeoutMs: number;
  /** Ids of commands that timed out: kept out of use until their late reply arrives. */
  private readonly lateIds = new Set<number>();
  /** The command sent without an id timed out: its late reply (without an id) is still to come. */
  private lateUnnumbered = false;
  private greetingMsg: QmpGreeting | undefined;
  private commandSet: Promise<Set<string>> | undefined;

  private constructor(socket: Socket, address: string, options: QmpClientOptions) {
    super(socket, { ...options, protocol: 'QMP', address, decoder: jsonFrames(options), cutOff: 'aborted', closeGraceMs: CLOSE_GRACE_MS });
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.events = new EventHub((err) => this.trace('recv', `(event listener threw: ${String(err)})`));
  }

  /**
   * Connects to a QMP socket, reads the greeting and leaves capabilities-negotiation mode.
   * @param address a unix socket path or `host:port` (see {@link parseAddress}).
   * @throws {ConnectionError} nothing listens there; {@link TimeoutError} no greeting in time;
   *   {@link ProtocolError} the peer does not speak QMP; {@link ConnectionClosedError} it hung up.
   */
  static connect(address: string | SocketAddress, options: QmpClientOptions = {}): Promise<QmpClient> {
    return Session.open(address, options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, (socket, where) => new QmpClient(socket, where, options));
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
    const alone = this.waitingCount === 0 && this.lateIds.size === 0 && !this.lateUnnumbered;
    const id = alone ? UNNUMBERED : this.freeId();
    const request: Record<string, unknown> = args === undefined ? { execute: command } : { execute: command, arguments: args };
    if (!alone) request.id = id;
    let text: string;
    try {
      text = JSON.stringify(request);
    } catch (err) {
      throw new InvalidArgumentError(`arguments of QMP command '${command}' cannot be serialised: ${(err as Error).message}`);
    }
    // No trailing newline: QEMU reads its monitor byte by byte and stops reading after each complete
    // request until it has run it, so after `quit` a newline would sit unread and QEMU's exit would
    // turn our clean EOF into ECONNRESET. (QEMU's python client does the same.)
    const reply = this.exchange(`QMP command '${command}'`, text, {
      id,
      timeoutMs: options.timeoutMs ?? this.commandTimeoutMs,
      onTimeout: 'keep',
      trace: text,
    });
    reply.catch((err: unknown) => {
      if (!(err instanceof TimeoutError)) return;
      if (alone) this.lateUnnumbered = true;
      else this.lateIds.add(id);
    });
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
    this.commandSet ??= this.execute<Array<{ name: string }>>('query-commands').then((list) => new Set(list.map((c) => c.name)));
    const attempt = this.commandSet;
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

  protected override async handshake(): Promise<void> {
    // Bounded by the handshake's time limit, like the negotiation after it.
    await this.exchange('QMP greeting', undefined, { id: GREETING_ID });
    // No `enable` list: out-of-band execution is not needed, and events start flowing after this.
    await this.execute('qmp_capabilities');
  }

  protected override handshakeHint(): string {
    return this.greetingMsg ? '' : NO_GREETING_HINT;
  }

  protected override receive(frame: JsonFrame): void {
    // Framing errors leave us unsure where the next message starts, so the connection cannot be trusted.
    if (frame.kind === 'error') {
      this.fail(frame.err);
      return;
    }
    const { value, text } = frame;
    this.trace('recv', text);
    if (!isObject(value)) this.invalid(`QMP message is not a JSON object: ${clip(text)}`);
    else if (!this.greetingMsg) this.onGreeting(value, text);
    else if ('event' in value) this.onEvent(value, text);
    else if ('return' in value || 'error' in value) this.onReply(value, text);
    else this.invalid(`unrecognised QMP message: ${clip(text)}`);
  }

  /** The stream itself is broken: report it, then drop the connection. */
  protected override fail(error: QemuFaultError): void {
    if (this.isClosed) return;
    if (error instanceof ProtocolError) this.reportProtocolError(error);
    super.fail(error);
  }

  protected override onShutdown(): void {
    this.events.close(this.endedError('event stream ended'));
  }

  private onGreeting(msg: Message, text: string): void {
    const greeting = parseGreeting(msg);
    if (!greeting) {
      this.fail(new ProtocolError(`expected a QMP greeting from ${this.address}, got: ${clip(text)}`));
      return;
    }
    this.greetingMsg = greeting;
    this.answer(msg, GREETING_ID);
  }

  /**
   * The smallest id not in flight. QEMU reads its monitor one byte per main-loop pass, so every
   * byte of a request costs latency: small numeric ids keep commands matched by id at ~1 byte.
   */
  private freeId(): number {
    let id = 0;
    while (this.isWaiting(id) || this.lateIds.has(id)) id++;
    return id;
  }

  private onEvent(msg: Message, text: string): void {
    const event = parseEvent(msg);
    if (event) this.events.emit(event);
    else this.invalid(`malformed QMP event: ${clip(text)}`);
  }

  private onReply(msg: Message, text: string): void {
    const id = msg.id;
    if (id === undefined && this.answer(msg, UNNUMBERED)) return;
    if (typeof id === 'number' && id >= 0 && this.answer(msg, id)) return;
    if (id === undefined && this.lateUnnumbered) {
      this.lateUnnumbered = false;
      this.trace('recv', '(ignored: late reply to the timed-out command sent without an id)');
    } else if (typeof id === 'number' && this.lateIds.delete(id)) {
      this.trace('recv', `(ignored: late reply to timed-out command id ${id})`);
    } else if (id === undefined && 'error' in msg) {
      // No command without an id waits: QEMU could not even read a request's id, yet we never send such requests.
      this.invalid(`QMP error reply without an id: ${clip(text)}`);
    } else {
      // Typically the reply to a command that already timed out.
      this.trace('recv', `(ignored: no pending command has id ${JSON.stringify(id)})`);
    }
  }

  /** A message we cannot use, but the stream is intact: report it and carry on. */
  private invalid(message: string): void {
    this.reportProtocolError(new ProtocolError(message));
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

/** QMP messages are worth a longer look in an error than a packet of hex. */
function clip(text: string): string {
  return abbreviate(text, 200);
}
