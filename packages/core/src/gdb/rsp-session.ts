import type { Socket } from 'node:net';
import { ConnectionClosedError, GdbError, InvalidArgumentError, ProtocolError } from '../errors.js';
import type { SocketAddress } from '../transport/address.js';
import { OneAtATime } from '../transport/one-at-a-time.js';
import { Session, type SessionOptions } from '../transport/session.js';
import { abbreviate } from '../transport/session-errors.js';
import { encodePacket, RspDecoder, type RspEvent } from './rsp-codec.js';
import { isConsoleOutput, isStopPacket, parseStopPacket, type StopReply } from './stop-reply.js';

export interface RspSessionOptions extends SessionOptions {
  /** Time limit for connecting and for each packet's reply (default 5000 ms); resuming waits without limit. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;
/** QEMU's packet buffer, used when the stub does not announce `PacketSize`. */
const DEFAULT_PACKET_SIZE = 4096;
/** Largest object read with `qXfer` (target descriptions are a few KiB). */
const MAX_XFER_BYTES = 1024 * 1024;
const INTERRUPT = Buffer.from([0x03]);
const BUSY_HINT = '(QEMU serves one client per socket at a time: is another one connected?)';

/** What the packet in flight waits for: an ordinary reply, or a stop packet (`?`, `c`, `s`). */
type Awaiting = 'reply' | 'stop';

/** A reply's payload, and the stop it reports if it is a stop packet. */
interface RspReply {
  payload: string;
  stop?: StopReply;
}

/**
 * The GDB Remote Serial Protocol's plumbing over one socket: packets and their acknowledgements
 * (retransmission on `-`, no-ack mode when the stub offers it), `qSupported` and `PacketSize`,
 * one packet in flight at a time, the interrupt byte, `qXfer` objects, thread selection, and stop
 * packets, including those the stub sends unasked (QEMU reports every VM stop). What the packets
 * mean is {@link GdbClient}'s business.
 *
 * A packet's reply is matched to it by kind: while a stop is awaited, ordinary replies cannot be
 * the answer, and the other way round. A target exit (`W`/`X`) ends the session.
 */
export class RspSession extends Session<RspEvent, RspReply> {
  private readonly timeoutMs: number;
  private readonly turns = new OneAtATime();
  private features = new Map<string, string | boolean>();
  private maxPacket = DEFAULT_PACKET_SIZE;
  private noAck = false;
  /** The packet in flight as sent, for retransmission. */
  private lastPacket: Buffer | undefined;
  private awaiting: Awaiting | undefined;
  private resuming = false;
  private stop: StopReply | undefined;
  /** The thread `g`, `p`, `m`… address: the one `Hg` selected, or at a stop the one that stopped (QEMU selects it). */
  private selectedThread: string | undefined;

  private constructor(socket: Socket, address: string, options: RspSessionOptions) {
    super(socket, { ...options, protocol: 'gdb', address, decoder: new RspDecoder() });
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * Connects and negotiates (`qSupported`; no-ack mode when offered, which QEMU 7.2 does not).
   * @throws {ConnectionError} nothing listens there; {@link TimeoutError} no answer in time;
   *   {@link ProtocolError}/{@link GdbError} the peer does not behave like a gdbstub.
   */
  static connect(address: string | SocketAddress, options: RspSessionOptions = {}): Promise<RspSession> {
    return Session.open(
      address,
      options.connectTimeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      (socket, where) => new RspSession(socket, where, options),
    );
  }

  /** The largest packet the stub accepts, framing included. */
  get packetSize(): number {
    return this.maxPacket;
  }

  /** The most recent stop reply, including ones nobody asked for; `undefined` until the first. */
  get lastStop(): StopReply | undefined {
    return this.stop;
  }

  /** Whether the stub announced `feature+` in its `qSupported` reply. */
  supports(feature: string): boolean {
    return this.features.get(feature) === true;
  }

  /** Runs `work` after every piece of work queued before it: the packets it sends go out together. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.turns.run(work);
  }

  /**
   * Sends a packet and resolves with the reply's payload (`''`: not supported); inside {@link exclusive}.
   * @throws {GdbError} the stub answered `Exx`; {@link InvalidArgumentError} the packet exceeds the
   *   stub's `PacketSize`; {@link TimeoutError} (the session then ends, as a late reply would be
   *   taken for the next packet's); {@link ConnectionClosedError}.
   */
  async request(packet: string): Promise<string> {
    const { payload: reply } = await this.transmit(packet, 'reply', this.timeoutMs);
    if (/^E[0-9a-fA-F]{2}$/.test(reply) || reply.startsWith('E.')) throw new GdbError(abbreviate(packet), reply);
    return reply;
  }

  /** {@link request} for packets answered `OK`. @throws {GdbError} any other answer. */
  async requestOk(packet: string): Promise<void> {
    const reply = await this.request(packet);
    if (reply !== 'OK')
      throw new GdbError(abbreviate(packet), reply, reply === '' ? 'not supported' : `expected OK, got '${abbreviate(reply)}'`);
  }

  /** {@link request} for packets answered with data. @throws {GdbError} an empty (unsupported) answer. */
  async requestData(packet: string): Promise<string> {
    const reply = await this.request(packet);
    if (reply === '') throw new GdbError(abbreviate(packet), reply);
    return reply;
  }

  /**
   * Resumes the target (`c`, `s`) and resolves with the stop that ends it, waiting without limit;
   * inside {@link exclusive}. Meanwhile only {@link interrupt} may reach the stub: QEMU stops the
   * VM on any other byte, and drops it.
   */
  async resume(action: 'c' | 's'): Promise<StopReply> {
    this.resuming = true;
    try {
      return await this.awaitStop(action, undefined);
    } finally {
      this.resuming = false;
    }
  }

  /** The last stop, asking the stub (`?`) if there was none yet; inside {@link exclusive}. */
  async currentStop(): Promise<StopReply> {
    return this.stop ?? this.awaitStop('?', this.timeoutMs);
  }

  /** Sends the interrupt byte if a {@link resume} is under way; the stop it causes ends that resume. */
  interrupt(): void {
    if (!this.resuming || this.awaiting !== 'stop') return;
    this.send(INTERRUPT, '^C');
  }

  /** Makes `thread` (as the stub spells it: `1` is the first CPU) the one `g`, `p`, `m`… address; inside {@link exclusive}. */
  async selectThread(thread: string): Promise<void> {
    if (this.selectedThread === thread) return;
    await this.requestOk(`Hg${thread}`);
    this.selectedThread = thread;
  }

  /** Reads a whole `qXfer:<object>:read:<annex>` object, chunk by chunk; inside {@link exclusive}. */
  async readXfer(object: string, annex: string): Promise<string> {
    const parts: Buffer[] = [];
    let total = 0;
    const chunk = this.maxPacket - 5;
    for (;;) {
      const packet = `qXfer:${object}:read:${annex}:${total.toString(16)},${chunk.toString(16)}`;
      const reply = await this.requestData(packet);
      if (reply[0] !== 'l' && reply[0] !== 'm') throw new ProtocolError(`'${packet}' answered '${abbreviate(reply)}'`);
      const data = Buffer.from(reply.slice(1), 'latin1');
      parts.push(data);
      total += data.length;
      if (total > MAX_XFER_BYTES) throw new ProtocolError(`qXfer object '${annex}' is larger than ${MAX_XFER_BYTES} bytes`);
      if (reply[0] === 'l') return Buffer.concat(parts).toString('utf8');
      if (data.length === 0) throw new ProtocolError(`'${packet}' announced more data but sent none`);
    }
  }

  protected override async handshake(): Promise<void> {
    this.features = parseFeatures(await this.request('qSupported:swbreak+;hwbreak+'));
    const packetSize = this.features.get('PacketSize');
    if (typeof packetSize === 'string' && /^[0-9a-fA-F]+$/.test(packetSize)) this.maxPacket = Math.max(64, parseInt(packetSize, 16));
    if (this.supports('QStartNoAckMode') && (await this.request('QStartNoAckMode')) === 'OK') this.noAck = true;
  }

  protected override handshakeHint(): string {
    return BUSY_HINT;
  }

  protected override receive(event: RspEvent): void {
    if (event.kind === 'packet') this.onPacket(event.payload.toString('latin1'));
    else if (event.kind === 'nack' && !this.noAck && this.lastPacket) this.send(this.lastPacket);
    else if (event.kind === 'corrupt') this.onCorrupt(event.reason);
  }

  private async awaitStop(packet: string, timeoutMs: number | undefined): Promise<StopReply> {
    const { payload, stop } = await this.transmit(packet, 'stop', timeoutMs);
    // Exits end the session before their packet could be taken for a reply.
    if (!stop) throw new ProtocolError(`'${packet}' answered '${payload}'`);
    return stop;
  }

  private transmit(packet: string, awaiting: Awaiting, timeoutMs: number | undefined): Promise<RspReply> {
    const frame = encodePacket(packet);
    if (frame.length > this.maxPacket) {
      return Promise.reject(new InvalidArgumentError(`packet exceeds the stub's PacketSize of ${this.maxPacket} bytes`));
    }
    this.awaiting = awaiting;
    this.lastPacket = frame;
    return this.exchange(`gdb packet '${abbreviate(packet)}'`, frame, { timeoutMs, trace: packet });
  }

  private onCorrupt(reason: string): void {
    this.trace('recv', `(corrupt packet: ${reason})`);
    // In ack mode '-' makes the stub send it again; without acks there is no recovery.
    if (this.noAck) throw new ProtocolError(`corrupt RSP packet: ${reason}`);
    this.send('-');
  }

  private onPacket(payload: string): void {
    const isStop = isStopPacket(payload);
    // Acknowledge at once: QEMU ignores 0x03 while a packet of its own is unacknowledged. Not an
    // exit: QEMU closes the socket right after it, and the ack would only meet a broken pipe.
    if (!this.noAck && !(isStop && /^[WX]/.test(payload))) this.send('+');
    this.trace('recv', payload);
    if (isConsoleOutput(payload)) return;
    const stop = isStop ? this.onStop(payload) : undefined;
    if (this.isClosed) return;
    if (this.awaiting !== undefined && (this.awaiting === 'stop') === isStop) {
      this.awaiting = undefined;
      this.answer({ payload, stop });
    } else if (!isStop) {
      throw new ProtocolError(`gdbstub sent '${abbreviate(payload)}' when no reply was expected`);
    }
    // Otherwise a stop nobody asked for (QMP `stop`, connecting to a running VM): recorded by onStop.
  }

  /** Records a stop and returns it; an exit ends the session. */
  private onStop(payload: string): StopReply | undefined {
    const parsed = parseStopPacket(payload);
    if (parsed.kind === 'stopped') {
      this.stop = parsed.stop;
      this.selectedThread = parsed.stop.thread;
      return parsed.stop;
    }
    const what = parsed.kind === 'exited' ? `exited with code ${parsed.code}` : `was terminated by signal ${parsed.signal}`;
    const reason = `the target ${what}`;
    this.shutdown({ by: 'peer', reason, error: new ConnectionClosedError(reason) });
    return undefined;
  }
}

/** `name+`/`name-` flags and `name=value` settings of a `qSupported` reply. */
function parseFeatures(reply: string): Map<string, string | boolean> {
  const features = new Map<string, string | boolean>();
  for (const item of reply.split(';')) {
    const eq = item.indexOf('=');
    if (eq !== -1) features.set(item.slice(0, eq), item.slice(eq + 1));
    else if (item.endsWith('+') || item.endsWith('-')) features.set(item.slice(0, -1), item.endsWith('+'));
  }
  return features;
}
