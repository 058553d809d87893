import { InvalidArgumentError, ProtocolError } from '../errors.js';
import { checkAddress, checkCount, checkTransferLength } from '../integers.js';
import type { SocketAddress } from '../transport/address.js';
import type { CloseInfo } from '../transport/close-info.js';
import { abbreviate } from '../transport/session-errors.js';
import { type BreakpointOptions, Breakpoints, type WatchKind } from './breakpoints.js';
import { RegisterFile } from './register-file.js';
import type { RegisterValue } from './register-value.js';
import { RspSession, type RspSessionOptions } from './rsp-session.js';
import type { StopReply } from './stop-reply.js';
import { type RegisterInfo, TargetDescription } from './target-description.js';

export type { CloseInfo } from '../transport/close-info.js';
export type { BreakpointOptions, WatchKind } from './breakpoints.js';
export type { RegisterValue } from './register-value.js';
export type { StopReason, StopReply } from './stop-reply.js';
export type { RegisterInfo } from './target-description.js';

export interface GdbClientOptions extends RspSessionOptions {
  /** Byte order of register values in `p`/`g` packets: the target's (default `little`). */
  endianness?: 'little' | 'big';
  /**
   * The program counter's name in the target description (default `pc`), read to tell a
   * breakpoint hit and to step over one.
   */
  pcRegister?: string;
}

/** QEMU refuses `m` requests above half its 4 KiB buffer. */
const MAX_MEMORY_CHUNK = 2048;

/**
 * A GDB Remote Serial Protocol client for QEMU's gdbstub (`-gdb unix:PATH,server=on,wait=off`):
 * memory, registers (named as the stub's XML target description names them), breakpoints,
 * watchpoints and execution control, on any architecture the stub describes.
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
 * await gdb.insertBreakpoint(0x1000, { kind: 2 }); // a Thumb instruction
 * const stop = await gdb.continue();
 * const pc = await gdb.readRegister('pc');
 */
export class GdbClient {
  private readonly breakpoints = new Breakpoints();
  private readonly pcName: string;
  private resumeOp: Promise<StopReply> | undefined;
  private interruptRequested = false;

  private constructor(
    private readonly rsp: RspSession,
    private readonly regs: RegisterFile,
    options: GdbClientOptions,
  ) {
    this.pcName = options.pcRegister ?? 'pc';
  }

  /**
   * Connects and negotiates features (`qSupported`; no-ack mode when offered, which QEMU 7.2 does
   * not); the target description is read before the first request, so that a connection nobody
   * uses costs no more. Connecting to a running VM stops it (QEMU does so).
   * @throws {ConnectionError} nothing listens there; {@link TimeoutError} no answer in time;
   *   {@link ProtocolError}/{@link GdbError} the peer does not behave like a gdbstub.
   */
  static async connect(address: string | SocketAddress, options: GdbClientOptions = {}): Promise<GdbClient> {
    const rsp = await RspSession.connect(address, options);
    const describe = async () =>
      rsp.supports('qXfer:features:read') ? TargetDescription.load((annex) => rsp.readXfer('features', annex)) : undefined;
    return new GdbClient(rsp, new RegisterFile(rsp, describe, options.endianness ?? 'little'), options);
  }

  /** Resolves (never rejects) once the connection has ended, saying why. */
  get closed(): Promise<CloseInfo> {
    return this.rsp.closed;
  }

  /** The stub, printable. */
  get address(): string {
    return this.rsp.address;
  }

  /** True once the connection has ended (or is ending). */
  get isClosed(): boolean {
    return this.rsp.isClosed;
  }

  /** The most recent stop reply, including ones the client did not ask for; `undefined` until the first. */
  get lastStop(): StopReply | undefined {
    return this.rsp.lastStop;
  }

  /**
   * The registers the target description declares, with their numbers and widths, by ascending
   * number (empty if the stub offers none). The first call reads the description from the stub.
   */
  registers(): Promise<readonly RegisterInfo[]> {
    return this.exclusive(() => this.regs.list());
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
      throw new InvalidArgumentError(`packet '${abbreviate(packet)}' resumes or kills the target; use continue() or step()`);
    }
    return this.exclusive(() => this.rsp.request(packet));
  }

  /** Reads `length` bytes through CPU `cpuIndex`'s view (default: the CPU the stub has selected). */
  async readMemory(address: bigint | number, length: number, cpuIndex?: number): Promise<Buffer> {
    checkTransferLength(length);
    const start = checkAddress(address, length);
    return this.onCpu(cpuIndex, async () => {
      const parts: Buffer[] = [];
      let done = 0;
      while (done < length) {
        const want = Math.min(this.memoryChunk(), length - done);
        const packet = `m${(start + BigInt(done)).toString(16)},${want.toString(16)}`;
        const reply = await this.rsp.requestData(packet);
        if (!/^([0-9a-fA-F]{2})+$/.test(reply) || reply.length / 2 > want) {
          throw new ProtocolError(`'${packet}' answered '${abbreviate(reply)}'`);
        }
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
    await this.onCpu(cpuIndex, async () => {
      const chunk = this.memoryChunk();
      for (let off = 0; off < data.length; off += chunk) {
        const piece = Buffer.from(data.subarray(off, off + chunk));
        await this.rsp.requestOk(`M${(start + BigInt(off)).toString(16)},${piece.length.toString(16)}:${piece.toString('hex')}`);
      }
    });
  }

  /**
   * Reads a register by the name the target description gives it (see {@link registers}).
   * Registers up to 32 bits read as `number`, wider ones as `bigint`.
   * @throws {InvalidArgumentError} no such register.
   */
  async readRegister(name: string, cpuIndex?: number): Promise<RegisterValue> {
    return this.onCpu(cpuIndex, async () => this.regs.read(await this.regs.get(name)));
  }

  /**
   * Writes a register (with `P`, or `G` where the stub lacks `P`).
   * @throws {InvalidArgumentError} no such register, or the value does not fit.
   */
  async writeRegister(name: string, value: RegisterValue, cpuIndex?: number): Promise<void> {
    await this.onCpu(cpuIndex, async () => {
      const reg = await this.regs.get(name);
      await this.regs.write(reg, this.regs.encode(reg, value));
    });
  }

  /** Reads the registers the stub sends in its `g` packet (on ARM: the core registers) in one round trip. */
  async readRegisters(cpuIndex?: number): Promise<Record<string, RegisterValue>> {
    return this.onCpu(cpuIndex, async () => Object.fromEntries((await this.regs.readAll()).values));
  }

  /**
   * Inserts a software (`Z0`) or hardware (`Z1`) breakpoint. Its `kind` is the architecture's
   * (on ARM 2 for a Thumb instruction, 4 for an ARM one; default 4); QEMU's stub ignores it.
   */
  async insertBreakpoint(address: bigint | number, options: BreakpointOptions = {}): Promise<void> {
    const breakpoint = this.breakpoints.breakpoint(address, options);
    await this.exclusive(() => this.rsp.requestOk(breakpoint.insert));
    this.breakpoints.inserted(breakpoint);
  }

  /** Removes a breakpoint inserted with the same options. */
  async removeBreakpoint(address: bigint | number, options: BreakpointOptions = {}): Promise<void> {
    const breakpoint = this.breakpoints.breakpoint(address, options);
    await this.exclusive(() => this.rsp.requestOk(breakpoint.remove));
    this.breakpoints.removed(breakpoint);
  }

  /**
   * Inserts a watchpoint on `length` bytes at `address` (`Z2` write, `Z3` read, `Z4` access).
   * QEMU reports the hit before the access happens, with the watchpoint's start address.
   */
  async insertWatchpoint(kind: WatchKind, address: bigint | number, length: number): Promise<void> {
    const watchpoint = this.breakpoints.watchpoint(kind, address, length);
    await this.exclusive(() => this.rsp.requestOk(watchpoint.insert));
    this.breakpoints.inserted(watchpoint);
  }

  /** Removes a watchpoint inserted with the same arguments. */
  async removeWatchpoint(kind: WatchKind, address: bigint | number, length: number): Promise<void> {
    const watchpoint = this.breakpoints.watchpoint(kind, address, length);
    await this.exclusive(() => this.rsp.requestOk(watchpoint.remove));
    this.breakpoints.removed(watchpoint);
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
      this.rsp.interrupt();
      return this.resumeOp;
    }
    return this.exclusive(() => this.rsp.currentStop());
  }

  /**
   * Closes the connection without detaching: the VM keeps its run state. Calls still waiting
   * reject with {@link ConnectionClosedError}.
   */
  close(): Promise<void> {
    return this.rsp.close();
  }

  /**
   * Runs `work` in the session's turn, the target description read first: QEMU answers `p` and `P`
   * (with nothing) until the client has read it, so every packet must find it read.
   */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.rsp.exclusive(async () => {
      await this.regs.load();
      return work();
    });
  }

  /** Runs `work` in the session's turn, after selecting CPU `cpuIndex` (if given). */
  private onCpu<T>(cpuIndex: number | undefined, work: () => Promise<T>): Promise<T> {
    if (cpuIndex !== undefined) checkCount(cpuIndex, 'cpuIndex');
    return this.exclusive(async () => {
      // QEMU numbers threads from 1, one per CPU.
      if (cpuIndex !== undefined) await this.rsp.selectThread((cpuIndex + 1).toString(16));
      return work();
    });
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
    if (this.interruptRequested) return this.rsp.currentStop();
    if (stepOver) {
      const stop = await this.stepOver(stepOver === 'watch');
      const plainStep = stop.signal === 5 && stop.reason === undefined;
      if (action === 's' || !plainStep || this.interruptRequested) return stop;
    }
    return this.finishStop(await this.rsp.resume(action));
  }

  /**
   * QEMU reports a breakpoint at the pc, or a watchpoint that fired (before the access), again as
   * soon as the VM resumes, so the instruction must first be stepped: QEMU's single-step ignores
   * breakpoints, but watchpoints must be lifted for it.
   */
  private async stepOverNeeded(): Promise<'watch' | 'breakpoint' | undefined> {
    const last = this.rsp.lastStop;
    if (this.breakpoints.watching && (last?.reason === 'watch' || last?.reason === 'rwatch' || last?.reason === 'awatch')) return 'watch';
    if (this.breakpoints.breaking) {
      const pc = await this.readPc(last?.thread);
      if (pc !== undefined && this.breakpoints.breaksAt(pc)) return 'breakpoint';
    }
    return undefined;
  }

  private async stepOver(liftWatchpoints: boolean): Promise<StopReply> {
    const lifted = liftWatchpoints ? this.breakpoints.watchpoints() : [];
    for (const wp of lifted) await this.rsp.requestOk(wp.remove);
    const stop = await this.finishStop(await this.rsp.resume('s'));
    for (const wp of lifted) await this.rsp.requestOk(wp.insert);
    return stop;
  }

  /** Names a breakpoint hit, which QEMU reports as a bare `T05`. */
  private async finishStop(stop: StopReply): Promise<StopReply> {
    if (stop.signal === 5 && stop.reason === undefined && this.breakpoints.breaking) {
      const pc = await this.readPc(undefined);
      if (pc !== undefined && this.breakpoints.breaksAt(pc)) {
        stop.reason = 'breakpoint';
        stop.address = pc;
      }
    }
    return stop;
  }

  /** The pc of `thread` (default: the selected CPU's), or `undefined` if the target description has none. */
  private async readPc(thread: string | undefined): Promise<bigint | undefined> {
    const pc = await this.regs.find(this.pcName);
    if (!pc) return undefined;
    if (thread !== undefined) await this.rsp.selectThread(thread);
    return BigInt(await this.regs.read(pc));
  }

  private memoryChunk(): number {
    // `M addr,len:` plus framing fits in 64 bytes; the data is two hex digits a byte.
    return Math.max(1, Math.min(MAX_MEMORY_CHUNK, Math.floor((this.rsp.packetSize - 64) / 2)));
  }
}
