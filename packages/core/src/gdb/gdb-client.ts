import type { Socket } from 'node:net';
import { ConnectionClosedError, GdbError, InvalidArgumentError, ProtocolError, TimeoutError } from '../errors.js';
import { checkAddress, checkCount, checkTransferLength, describeValue } from '../integers.js';
import { formatAddress, parseAddress, type SocketAddress } from '../transport/address.js';
import { type CloseInfo, onSocketEnd } from '../transport/close-info.js';
import { connectSocket } from '../transport/connect.js';
import { decodeRegister, encodeRegister, type RegisterValue, registerHexLength } from './register-value.js';
import { encodePacket, RspDecoder, type RspEvent } from './rsp-codec.js';
import { isConsoleOutput, isStopPacket, parseStopPacket, type StopReply } from './stop-reply.js';
import { type RegisterInfo, TargetDescription } from './target-description.js';

export type { CloseInfo } from '../transport/close-info.js';
export type { RegisterValue } from './register-value.js';
export type { StopReason, StopReply } from './stop-reply.js';
export type { RegisterInfo } from './target-description.js';

export interface GdbClientOptions {
  /** Time limit for connecting and for each packet's reply (default 5000 ms). `continue()` and `step()` wait without limit. */
  timeoutMs?: number;
  /** Called with every packet's payload sent or received (`^C` for an interrupt), for verbose logging. Exceptions from it are ignored. */
  trace?: (direction: 'send' | 'recv', text: string) => void;
  /** Byte order of register values in `p`/`g` packets: the target's (default `little`, as on ARM). */
  endianness?: 'little' | 'big';
}

/** Which accesses a watchpoint catches. */
export type WatchKind = 'write' | 'read' | 'access';

/** Core registers of 32-bit ARM targets (qemu-system-arm), aliases included; these read as `number`. */
export type ArmCoreRegister =
  | 'r0'
  | 'r1'
  | 'r2'
  | 'r3'
  | 'r4'
  | 'r5'
  | 'r6'
  | 'r7'
  | 'r8'
  | 'r9'
  | 'r10'
  | 'r11'
  | 'r12'
  | 'r13'
  | 'r14'
  | 'r15'
  | 'sp'
  | 'lr'
  | 'pc'
  | 'xpsr'
  | 'cpsr';

const DEFAULT_TIMEOUT_MS = 5000;
/** QEMU's packet buffer, used when the stub does not announce `PacketSize`. */
const DEFAULT_PACKET_SIZE = 4096;
/** QEMU refuses `m` requests above half its 4 KiB buffer. */
const MAX_MEMORY_CHUNK = 2048;
const MAX_XML_BYTES = 1024 * 1024;
/** Breakpoint kind: 2 is a Thumb instruction; QEMU ignores the kind anyway. */
const BREAKPOINT_KIND = 2;
const WATCH_TYPES: Record<WatchKind, number> = { write: 2, read: 3, access: 4 };
const INTERRUPT = Buffer.from([0x03]);
const BUSY_HINT = '(QEMU serves one client per socket at a time: is another one connected?)';

/** `request`: any reply; `stop`: the reply is a stop packet (`?`); `resume`: `c`/`s`, no time limit, only 0x03 may be sent meanwhile. */
type ExchangeKind = 'request' | 'stop' | 'resume';

interface Inflight {
  packet: string;
  kind: ExchangeKind;
  resolve(payload: string): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

interface Watchpoint {
  kind: WatchKind;
  address: bigint;
  length: number;
}

/**
 * A GDB Remote Serial Protocol client for QEMU's gdbstub (`-gdb unix:PATH,server=on,wait=off`):
 * memory, registers (named after the stub's XML target description), breakpoints, watchpoints
 * and execution control.
 *
 * One packet is in flight at a time; calls queue behind each other, including behind a running
 * `continue()` (QEMU stops the VM on any byte but 0x03, and drops that byte). Stop replies the
 * client did not ask for (QEMU sends one whenever the VM stops, e.g. on QMP `stop`) are recorded
 * as {@link lastStop}.
 *
 * Like GDB, the client steps over the breakpoint or watchpoint it is stopped at before resuming,
 * because QEMU would report it again at once without executing anything.
 *
 * @example
 * const gdb = await GdbClient.connect('/tmp/vm/gdb.sock');
 * await gdb.insertBreakpoint(0x1000);
 * const stop = await gdb.continue();
 * const pc = await gdb.readRegister('pc');
 */
export class GdbClient {
  /** Resolves (never rejects) once the connection has ended, saying why. */
  readonly closed: Promise<CloseInfo>;

  private readonly decoder = new RspDecoder();
  private readonly timeoutMs: number;
  private readonly traceFn: GdbClientOptions['trace'];
  private readonly byteOrder: 'little' | 'big';
  private readonly breakpoints = new Map<string, bigint>();
  private readonly watchpoints = new Map<string, Watchpoint>();
  private closeInfo: CloseInfo | undefined;
  private inflight: Inflight | undefined;
  /** Tail of the queue of calls; each waits for the previous to finish. */
  private queue: Promise<unknown> = Promise.resolve();
  private noAck = false;
  private lastPacket: Buffer | undefined;
  private packetSize = DEFAULT_PACKET_SIZE;
  private description: TargetDescription | undefined;
  private stopReply: StopReply | undefined;
  /** Thread `Hg` selected; forgotten at every stop, since QEMU then selects the CPU that stopped. */
  private selectedThread: string | undefined;
  private pMissing = false;
  private bigPMissing = false;
  private resumeOp: Promise<StopReply> | undefined;
  private interruptRequested = false;

  private constructor(
    private readonly socket: Socket,
    /** Printable address, for messages. */
    readonly address: string,
    options: GdbClientOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.traceFn = options.trace;
    this.byteOrder = options.endianness ?? 'little';
    this.closed = onSocketEnd(
      socket,
      (info) => this.shutdown(info),
      () => this.closeInfo!,
      () => `${this.address} closed the connection`,
    );
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  /**
   * Connects, negotiates features (`qSupported`; no-ack mode when offered, which QEMU 7.2 does
   * not) and reads the target description. Connecting to a running VM stops it (QEMU does so).
   * @throws {ConnectionError} nothing listens there; {@link TimeoutError} no answer in time;
   *   {@link ProtocolError}/{@link GdbError} the peer does not behave like a gdbstub.
   */
  static async connect(address: string | SocketAddress, options: GdbClientOptions = {}): Promise<GdbClient> {
    const socket = await connectSocket(address, { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    const client = new GdbClient(socket, formatAddress(parseAddress(address)), options);
    try {
      await client.exclusive(() => client.handshake());
      return client;
    } catch (err) {
      client.shutdown({ by: 'error', reason: `handshake failed: ${(err as Error).message}`, error: err as Error });
      throw err instanceof TimeoutError ? new TimeoutError(`gdbstub handshake with ${client.address}`, err.timeoutMs, BUSY_HINT) : err;
    }
  }

  /** True once the connection has ended (or is ending). */
  get isClosed(): boolean {
    return this.closeInfo !== undefined;
  }

  /** The most recent stop reply, including ones the client did not ask for; `undefined` until the first. */
  get lastStop(): StopReply | undefined {
    return this.stopReply;
  }

  /** The registers the target description declares, by ascending number (empty if the stub offers none). */
  get registers(): readonly RegisterInfo[] {
    return this.description?.registers ?? [];
  }

  /**
   * Sends one packet and resolves with the reply's payload; `''` means the stub does not support it.
   * Resuming packets (`c`, `s`, `vCont;…`, `k`…) are refused: use {@link continue}/{@link step}.
   * @throws {GdbError} the stub answered `Exx`; {@link TimeoutError} (the connection is then closed,
   *   as a late reply would be taken for the next packet's); {@link ConnectionClosedError}.
   */
  async request(packet: string): Promise<string> {
    if (typeof packet !== 'string') throw new InvalidArgumentError('packet must be a string');
    if (/^([cCsSk]|vCont;|vRun|vAttach)/.test(packet)) {
      throw new InvalidArgumentError(`packet '${packet}' resumes or kills the target; use continue() or step()`);
    }
    if (encodePacket(packet).length > this.packetSize)
      throw new InvalidArgumentError(`packet exceeds the stub's PacketSize of ${this.packetSize} bytes`);
    return this.exclusive(() => this.requestLocked(packet));
  }

  /** Reads `length` bytes through CPU `cpuIndex`'s view (default: the CPU the stub has selected). */
  async readMemory(address: bigint | number, length: number, cpuIndex?: number): Promise<Buffer> {
    checkTransferLength(length);
    const start = checkAddress(address, length);
    return this.exclusive(async () => {
      await this.selectCpu(cpuIndex);
      const parts: Buffer[] = [];
      let done = 0;
      while (done < length) {
        const want = Math.min(this.memoryChunk(), length - done);
        const packet = `m${(start + BigInt(done)).toString(16)},${want.toString(16)}`;
        const reply = await this.requestData(packet);
        if (!/^([0-9a-fA-F]{2})+$/.test(reply) || reply.length / 2 > want)
          throw new ProtocolError(`'${packet}' answered '${abbreviate(reply)}'`);
        parts.push(Buffer.from(reply, 'hex'));
        done += reply.length / 2;
      }
      return Buffer.concat(parts, length);
    });
  }

  /** Writes `data` through CPU `cpuIndex`'s view (default: the CPU the stub has selected). */
  async writeMemory(address: bigint | number, data: Uint8Array, cpuIndex?: number): Promise<void> {
    if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('data must be a Buffer or Uint8Array');
    const start = checkAddress(address, data.length);
    await this.exclusive(async () => {
      await this.selectCpu(cpuIndex);
      const chunk = this.memoryChunk();
      for (let off = 0; off < data.length; off += chunk) {
        const piece = Buffer.from(data.subarray(off, off + chunk));
        await this.requestOk(`M${(start + BigInt(off)).toString(16)},${piece.length.toString(16)}:${piece.toString('hex')}`);
      }
    });
  }

  /**
   * Reads a register by name (as the target description spells it; ARM aliases r13–r15/sp/lr/pc
   * and cpsr/xpsr are accepted). Registers up to 32 bits read as `number`, wider ones as `bigint`.
   * @throws {InvalidArgumentError} no such register.
   */
  readRegister(name: ArmCoreRegister, cpuIndex?: number): Promise<number>;
  readRegister(name: string, cpuIndex?: number): Promise<RegisterValue>;
  async readRegister(name: string, cpuIndex?: number): Promise<RegisterValue> {
    const reg = this.register(name);
    return this.exclusive(async () => {
      await this.selectCpu(cpuIndex);
      return this.readRegisterLocked(reg);
    });
  }

  /** Writes a register (with `P`, or `G` where the stub lacks `P`). @throws {InvalidArgumentError} no such register, or the value does not fit. */
  async writeRegister(name: string, value: RegisterValue, cpuIndex?: number): Promise<void> {
    const reg = this.register(name);
    const hex = encodeRegister(value, reg.bitsize, this.byteOrder, reg.name);
    await this.exclusive(async () => {
      await this.selectCpu(cpuIndex);
      if (!this.bigPMissing) {
        const reply = await this.requestLocked(`P${reg.regnum.toString(16)}=${hex}`);
        if (reply === 'OK') return;
        if (reply !== '') throw new GdbError(`P${reg.regnum.toString(16)}`, reply);
        this.bigPMissing = true;
      }
      const { text, offsets } = await this.readAllLocked();
      const at = offsets.get(reg.name);
      if (at === undefined) throw new GdbError('P', '', `register ${reg.name} is not in the 'g' packet and 'P' is not supported`);
      await this.requestOk(`G${text.slice(0, at)}${hex}${text.slice(at + hex.length)}`);
    });
  }

  /** Reads the registers the stub sends in its `g` packet (on ARM: the core registers) in one round trip. */
  async readRegisters(cpuIndex?: number): Promise<Record<string, RegisterValue>> {
    return this.exclusive(async () => {
      await this.selectCpu(cpuIndex);
      const { values } = await this.readAllLocked();
      return Object.fromEntries(values);
    });
  }

  /** Inserts a software (`Z0`) or hardware (`Z1`) breakpoint. */
  async insertBreakpoint(address: bigint | number, options: { hardware?: boolean } = {}): Promise<void> {
    const addr = checkAddress(address);
    const type = options.hardware ? 1 : 0;
    await this.exclusive(() => this.requestOk(`Z${type},${addr.toString(16)},${BREAKPOINT_KIND}`));
    this.breakpoints.set(`${type}:${addr}`, addr);
  }

  /** Removes a breakpoint inserted with the same options. */
  async removeBreakpoint(address: bigint | number, options: { hardware?: boolean } = {}): Promise<void> {
    const addr = checkAddress(address);
    const type = options.hardware ? 1 : 0;
    await this.exclusive(() => this.requestOk(`z${type},${addr.toString(16)},${BREAKPOINT_KIND}`));
    this.breakpoints.delete(`${type}:${addr}`);
  }

  /**
   * Inserts a watchpoint on `length` bytes at `address` (`Z2` write, `Z3` read, `Z4` access).
   * QEMU reports the hit before the access happens, with the watchpoint's start address.
   */
  async insertWatchpoint(kind: WatchKind, address: bigint | number, length: number): Promise<void> {
    const wp = checkWatchpoint(kind, address, length);
    await this.exclusive(() => this.requestOk(watchPacket('Z', wp)));
    this.watchpoints.set(watchKey(wp), wp);
  }

  /** Removes a watchpoint inserted with the same arguments. */
  async removeWatchpoint(kind: WatchKind, address: bigint | number, length: number): Promise<void> {
    const wp = checkWatchpoint(kind, address, length);
    await this.exclusive(() => this.requestOk(watchPacket('z', wp)));
    this.watchpoints.delete(watchKey(wp));
  }

  /**
   * Resumes the VM (`c`) and resolves with the stop reply once it stops: breakpoint, watchpoint,
   * {@link interrupt}, or QMP `stop` (signal 2). There is no time limit.
   * @throws {ConnectionClosedError} QEMU exited or the connection closed first;
   *   {@link InvalidArgumentError} a continue or step is already under way.
   */
  continue(): Promise<StopReply> {
    return this.startResume('c');
  }

  /** Executes one instruction (`s`) and resolves with the stop reply. */
  step(): Promise<StopReply> {
    return this.startResume('s');
  }

  /**
   * Stops a {@link continue}/{@link step} under way (sends 0x03) and resolves with its stop reply.
   * If none is under way, resolves with the last stop reply (asking the stub with `?` if there is none).
   */
  interrupt(): Promise<StopReply> {
    if (this.resumeOp) {
      this.interruptRequested = true;
      if (this.inflight?.kind === 'resume') {
        this.trace('send', '^C');
        this.socket.write(INTERRUPT);
      }
      return this.resumeOp;
    }
    return this.exclusive(() => this.currentStop());
  }

  /**
   * Closes the connection without detaching: the VM keeps its run state. Calls still waiting
   * reject with {@link ConnectionClosedError}.
   */
  async close(): Promise<void> {
    this.shutdown({ by: 'local', reason: 'the client closed the connection' });
    await this.closed;
  }

  private async handshake(): Promise<void> {
    const features = parseFeatures(await this.requestLocked('qSupported:swbreak+;hwbreak+'));
    const packetSize = features.get('PacketSize');
    if (typeof packetSize === 'string' && /^[0-9a-fA-F]+$/.test(packetSize)) this.packetSize = Math.max(64, parseInt(packetSize, 16));
    if (features.get('QStartNoAckMode') === true && (await this.requestLocked('QStartNoAckMode')) === 'OK') this.noAck = true;
    if (features.get('qXfer:features:read') === true) {
      this.description = await TargetDescription.load((annex) => this.readXfer(annex));
    }
  }

  /** Reads a whole `qXfer:features:read` object, chunk by chunk. */
  private async readXfer(annex: string): Promise<string> {
    const parts: Buffer[] = [];
    let total = 0;
    const chunk = this.packetSize - 5;
    for (;;) {
      const packet = `qXfer:features:read:${annex}:${total.toString(16)},${chunk.toString(16)}`;
      const reply = await this.requestData(packet);
      if (reply[0] !== 'l' && reply[0] !== 'm') throw new ProtocolError(`'${packet}' answered '${abbreviate(reply)}'`);
      const data = Buffer.from(reply.slice(1), 'latin1');
      parts.push(data);
      total += data.length;
      if (total > MAX_XML_BYTES) throw new ProtocolError(`target description '${annex}' is larger than ${MAX_XML_BYTES} bytes`);
      if (reply[0] === 'l') return Buffer.concat(parts).toString('utf8');
      if (data.length === 0) throw new ProtocolError(`'${packet}' announced more data but sent none`);
    }
  }

  private register(name: string): RegisterInfo {
    if (typeof name !== 'string') throw new InvalidArgumentError('register name must be a string');
    const reg = this.description?.find(name);
    if (reg) return reg;
    const known = this.registers.map((r) => r.name);
    throw new InvalidArgumentError(
      `no register '${name}' in the target description; ${known.length ? `known: ${known.join(', ')}` : 'the stub offers no target description'}`,
    );
  }

  private async readRegisterLocked(reg: RegisterInfo): Promise<RegisterValue> {
    if (!this.pMissing) {
      const packet = `p${reg.regnum.toString(16)}`;
      const reply = await this.requestLocked(packet);
      if (reply !== '') {
        if (/x/i.test(reply)) throw new GdbError(packet, reply, `register ${reg.name} is unavailable`);
        return decodeRegister(reply, reg.bitsize, this.byteOrder);
      }
      this.pMissing = true;
    }
    const value = (await this.readAllLocked()).values.get(reg.name);
    if (value === undefined) throw new GdbError('p', '', `register ${reg.name} is not in the 'g' packet and 'p' is not supported`);
    return value;
  }

  /** Reads `g` and splits it by the target description: registers in regnum order until the data runs out. */
  private async readAllLocked(): Promise<{ text: string; values: Map<string, RegisterValue>; offsets: Map<string, number> }> {
    const text = await this.requestData('g');
    const values = new Map<string, RegisterValue>();
    const offsets = new Map<string, number>();
    let at = 0;
    for (const reg of this.registers) {
      const len = registerHexLength(reg.bitsize);
      if (at + len > text.length) break;
      const hex = text.slice(at, at + len);
      offsets.set(reg.name, at);
      // 'x' digits mark a value the stub cannot provide.
      if (!/x/i.test(hex)) values.set(reg.name, decodeRegister(hex, reg.bitsize, this.byteOrder));
      at += len;
    }
    return { text, values, offsets };
  }

  private async selectCpu(cpuIndex: number | undefined): Promise<void> {
    if (cpuIndex === undefined) return;
    checkCount(cpuIndex, 'cpuIndex');
    // QEMU numbers threads from 1, one per CPU.
    const thread = (cpuIndex + 1).toString(16);
    if (this.selectedThread === thread) return;
    await this.requestOk(`Hg${thread}`);
    this.selectedThread = thread;
  }

  private startResume(action: 'c' | 's'): Promise<StopReply> {
    if (this.resumeOp) return Promise.reject(new InvalidArgumentError('a continue() or step() is already under way'));
    this.interruptRequested = false;
    const op = this.exclusive(() => this.resumeLocked(action)).finally(() => {
      this.resumeOp = undefined;
    });
    this.resumeOp = op;
    return op;
  }

  private async resumeLocked(action: 'c' | 's'): Promise<StopReply> {
    const stepOver = await this.stepOverNeeded();
    if (this.interruptRequested) return this.currentStop();
    if (stepOver) {
      const stop = await this.stepOver(stepOver === 'watch');
      const plainStep = stop.signal === 5 && stop.reason === undefined;
      if (action === 's' || !plainStep || this.interruptRequested) return stop;
    }
    return this.finishStop(await this.exchange(action, 'resume'));
  }

  /**
   * QEMU reports a breakpoint at the pc, or a watchpoint that fired (before the access), again as
   * soon as the VM resumes, so the instruction must first be stepped: QEMU's single-step ignores
   * breakpoints, but watchpoints must be lifted for it.
   */
  private async stepOverNeeded(): Promise<'watch' | 'breakpoint' | undefined> {
    const last = this.stopReply;
    if (this.watchpoints.size > 0 && (last?.reason === 'watch' || last?.reason === 'rwatch' || last?.reason === 'awatch')) return 'watch';
    if (this.breakpoints.size > 0) {
      const pc = await this.readPcLocked(last?.thread);
      if (pc !== undefined && this.isBreakpointAt(pc)) return 'breakpoint';
    }
    return undefined;
  }

  private async stepOver(liftWatchpoints: boolean): Promise<StopReply> {
    const lifted = liftWatchpoints ? [...this.watchpoints.values()] : [];
    for (const wp of lifted) await this.requestOk(watchPacket('z', wp));
    const stop = await this.finishStop(await this.exchange('s', 'resume'));
    for (const wp of lifted) await this.requestOk(watchPacket('Z', wp));
    return stop;
  }

  private async currentStop(): Promise<StopReply> {
    return this.stopReply ?? this.finishStop(await this.exchange('?', 'stop'));
  }

  /** Parses the stop packet ending a resume; names a breakpoint hit, which QEMU reports as a bare `T05`. */
  private async finishStop(payload: string): Promise<StopReply> {
    const stop = this.recordStop(payload);
    if (stop.signal === 5 && stop.reason === undefined && this.breakpoints.size > 0) {
      const pc = await this.readPcLocked(undefined);
      if (pc !== undefined && this.isBreakpointAt(pc)) {
        stop.reason = 'breakpoint';
        stop.address = pc;
      }
    }
    return stop;
  }

  private async readPcLocked(thread: string | undefined): Promise<bigint | undefined> {
    const pc = this.description?.find('pc');
    if (!pc) return undefined;
    if (thread !== undefined && this.selectedThread !== undefined && this.selectedThread !== thread) {
      await this.requestOk(`Hg${thread}`);
      this.selectedThread = thread;
    }
    return BigInt(await this.readRegisterLocked(pc));
  }

  private isBreakpointAt(pc: bigint): boolean {
    for (const addr of this.breakpoints.values()) if (addr === pc) return true;
    return false;
  }

  /**
   * Records a stop packet as {@link lastStop}. An exit (`W`/`X`) ends the connection.
   * @throws {ConnectionClosedError} the target exited.
   */
  private recordStop(payload: string): StopReply {
    const parsed = parseStopPacket(payload);
    this.selectedThread = undefined;
    if (parsed.kind === 'stopped') {
      this.stopReply = parsed.stop;
      return parsed.stop;
    }
    const what = parsed.kind === 'exited' ? `exited with code ${parsed.code}` : `was terminated by signal ${parsed.signal}`;
    const err = new ConnectionClosedError(`the target ${what}`);
    this.shutdown({ by: 'peer', reason: err.message, error: err });
    throw err;
  }

  /** Runs `fn` after every call queued before it. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Sends a packet and resolves with the reply; must run inside {@link exclusive}. @throws {GdbError} on `Exx`. */
  private async requestLocked(packet: string): Promise<string> {
    const reply = await this.exchange(packet, 'request');
    if (/^E[0-9a-fA-F]{2}$/.test(reply) || reply.startsWith('E.')) throw new GdbError(abbreviate(packet), reply);
    return reply;
  }

  private async requestOk(packet: string): Promise<void> {
    const reply = await this.requestLocked(packet);
    if (reply !== 'OK')
      throw new GdbError(abbreviate(packet), reply, reply === '' ? 'not supported' : `expected OK, got '${abbreviate(reply)}'`);
  }

  private async requestData(packet: string): Promise<string> {
    const reply = await this.requestLocked(packet);
    if (reply === '') throw new GdbError(abbreviate(packet), reply);
    return reply;
  }

  private exchange(packet: string, kind: ExchangeKind): Promise<string> {
    if (this.closeInfo)
      return Promise.reject(new ConnectionClosedError(`gdb packet '${abbreviate(packet)}' not sent: ${this.closeInfo.reason}`));
    return new Promise<string>((resolve, reject) => {
      const inflight: Inflight = { packet, kind, resolve, reject, timer: undefined };
      if (kind !== 'resume') inflight.timer = setTimeout(() => this.onTimeout(inflight), this.timeoutMs);
      this.inflight = inflight;
      this.lastPacket = encodePacket(packet);
      this.trace('send', packet);
      this.socket.write(this.lastPacket);
    });
  }

  private onTimeout(inflight: Inflight): void {
    if (this.inflight !== inflight) return;
    this.inflight = undefined;
    const err = new TimeoutError(`gdb packet '${abbreviate(inflight.packet)}'`, this.timeoutMs);
    inflight.reject(err);
    this.shutdown({ by: 'error', reason: `${err.message}; closed because a late reply would be taken for the next packet's`, error: err });
  }

  private onData(chunk: Buffer): void {
    if (this.closeInfo) return;
    let events: RspEvent[];
    try {
      events = this.decoder.push(chunk);
    } catch (err) {
      this.shutdown({ by: 'error', reason: (err as Error).message, error: err as Error });
      return;
    }
    for (const event of events) {
      if (this.closeInfo) return;
      if (event.kind === 'packet') this.onPacket(event.payload.toString('latin1'));
      else if (event.kind === 'nack' && !this.noAck && this.lastPacket) this.socket.write(this.lastPacket);
      else if (event.kind === 'corrupt') this.onCorrupt(event.reason);
    }
  }

  private onCorrupt(reason: string): void {
    this.trace('recv', `(corrupt packet: ${reason})`);
    // In ack mode '-' makes the stub send it again; without acks there is no recovery.
    if (this.noAck)
      this.shutdown({ by: 'error', reason: `corrupt packet: ${reason}`, error: new ProtocolError(`corrupt RSP packet: ${reason}`) });
    else this.socket.write('-');
  }

  private onPacket(payload: string): void {
    // Acknowledge at once: QEMU ignores 0x03 while a packet of its own is unacknowledged.
    if (!this.noAck) this.socket.write('+');
    this.trace('recv', payload);
    if (isConsoleOutput(payload)) return;
    const inflight = this.inflight;
    const stop = isStopPacket(payload);
    if (inflight && (inflight.kind === 'request' ? !stop : stop)) {
      clearTimeout(inflight.timer);
      this.inflight = undefined;
      inflight.resolve(payload);
    } else if (stop) {
      // QEMU reports every VM stop, including ones it was not asked about (QMP `stop`, connecting to a running VM).
      try {
        this.recordStop(payload);
      } catch {
        // The target exited; recordStop has closed the connection.
      }
    } else {
      const err = new ProtocolError(`gdbstub sent '${abbreviate(payload)}' when no reply was expected`);
      this.shutdown({ by: 'error', reason: err.message, error: err });
    }
  }

  private shutdown(info: CloseInfo): void {
    if (this.closeInfo) return;
    this.closeInfo = info;
    const inflight = this.inflight;
    this.inflight = undefined;
    if (inflight) {
      clearTimeout(inflight.timer);
      inflight.reject(
        new ConnectionClosedError(`gdb packet '${abbreviate(inflight.packet)}' not answered: ${info.reason}`, { cause: info.error }),
      );
    }
    this.socket.destroy();
  }

  private trace(direction: 'send' | 'recv', text: string): void {
    try {
      this.traceFn?.(direction, text);
    } catch {
      // Tracing must never break the protocol.
    }
  }

  private memoryChunk(): number {
    // `M addr,len:` plus framing fits in 64 bytes; the data is two hex digits a byte.
    return Math.max(1, Math.min(MAX_MEMORY_CHUNK, Math.floor((this.packetSize - 64) / 2)));
  }
}

function checkWatchpoint(kind: WatchKind, address: bigint | number, length: number): Watchpoint {
  if (!(kind in WATCH_TYPES))
    throw new InvalidArgumentError(`watchpoint kind must be 'write', 'read' or 'access', got ${describeValue(kind)}`);
  checkCount(length, 'watchpoint length');
  if (length === 0) throw new InvalidArgumentError('watchpoint length must be at least 1');
  return { kind, address: checkAddress(address, length), length };
}

function watchPacket(op: 'Z' | 'z', wp: Watchpoint): string {
  return `${op}${WATCH_TYPES[wp.kind]},${wp.address.toString(16)},${wp.length.toString(16)}`;
}

function watchKey(wp: Watchpoint): string {
  return `${wp.kind}:${wp.address}:${wp.length}`;
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

/** Keeps error messages readable when a packet carries kilobytes of hex. */
function abbreviate(text: string): string {
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}
