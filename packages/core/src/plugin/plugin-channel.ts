/**
 * One connected qemu-fault TCG plugin: commands answered in order, freezes and other events at any
 * time. When QEMU dies the socket closes and every pending request is rejected; when Node goes
 * away the plugin disarms everything and releases a frozen vCPU.
 */
import type { Socket } from 'node:net';
import { InvalidArgumentError, ProtocolError } from '../errors.js';
import { hex } from '../integers.js';
import type { SocketAddress } from '../transport/address.js';
import type { CloseInfo } from '../transport/close-info.js';
import { LineReader } from '../transport/line-reader.js';
import { Session, type SessionOptions } from '../transport/session.js';
import { HitQueue } from './hit-queue.js';
import {
  type BlockStats,
  decodeBlocks,
  decodeCount,
  decodeLine,
  decodeRegisters,
  encodeCommand,
  type PluginErrorClass,
  type PluginHello,
  type PluginHit,
  type TracedInstruction,
} from './protocol.js';
import { refusalError } from './refusal.js';

export type { BlockStats, PluginHello, PluginHit, PluginWatchHit, TracedInstruction } from './protocol.js';

/** Access kinds for {@link PluginChannel.armWatch}. */
export type PluginWatchKind = 'r' | 'w' | 'rw';

/** Largest {@link PluginChannel.readMemory} / {@link PluginChannel.writeMemory} part in one command. */
export const PLUGIN_MEMORY_CHUNK = 1024;
/** A line longer than this from the plugin is a protocol error (the longest, a read reply, is ~2 KiB). */
const MAX_LINE = 1 << 20;
const DEFAULT_TIMEOUT_MS = 5000;

export interface PluginEvents {
  hit: (hit: PluginHit) => void;
  /** Instructions executed in a traced range, in execution order (sent before any later freeze). */
  trace: (token: string, entries: TracedInstruction[]) => void;
  miss: (token: string, count: bigint) => void;
  exit: (count: bigint) => void;
  close: (err: Error | undefined) => void;
}

export interface PluginChannelOptions extends SessionOptions {
  /** Limit for connecting, the hello and each command's reply (default 5000 ms). */
  timeoutMs?: number;
}

/** Options of triggers that may be limited to one vCPU. */
export interface CpuFilter {
  /** Fire only when this vCPU (an index) executes or accesses; default any. */
  cpu?: number;
}

/** What a command, or the opening hello, is answered with. */
type PluginReply =
  | { kind: 'ok'; data: string }
  | { kind: 'err'; errorClass: PluginErrorClass; message: string }
  | { kind: 'hello'; hello: PluginHello };

/** The hello is awaited as request 0; commands count from 1. */
const HELLO_ID = 0;

/** One connected plugin, on the package's session base. */
export class PluginChannel extends Session<string, PluginReply> {
  private readonly listeners: { [K in keyof PluginEvents]: Set<PluginEvents[K]> } = {
    hit: new Set(),
    trace: new Set(),
    miss: new Set(),
    exit: new Set(),
    close: new Set(),
  };
  private readonly hits = new HitQueue();
  private readonly timeoutMs: number;
  private nextId = HELLO_ID + 1;
  /** The freeze the vCPU is in, if any. */
  frozen: PluginHit | undefined;
  /** What this QEMU lets the plugin do (from its first line). */
  hello!: PluginHello;
  /** QEMU's version (from QMP), for messages; set by whoever knows it. */
  qemuVersion: string | undefined;

  private constructor(socket: Socket, address: string, options: PluginChannelOptions) {
    super(socket, {
      protocol: 'plugin',
      address,
      decoder: new LineReader(MAX_LINE, { what: 'plugin line' }),
      ...(options.trace ? { trace: options.trace } : {}),
      ...(options.explainLostConnection ? { explainLostConnection: options.explainLostConnection } : {}),
    });
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Takes a socket the plugin connected on (see {@link PluginListener}) and waits for its hello. */
  static async start(socket: Socket, options: PluginChannelOptions = {}): Promise<PluginChannel> {
    const channel = new PluginChannel(socket, 'the plugin socket', options);
    await channel.begin({ timeoutMs: options.connectTimeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    return channel;
  }

  /** Connects to a plugin that listens (`-plugin ...,listen=PATH`: a QEMU started by hand). */
  static connect(address: string | SocketAddress, options: PluginChannelOptions = {}): Promise<PluginChannel> {
    return Session.open(
      address,
      options.connectTimeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      (socket, printable) => new PluginChannel(socket, printable, options),
    );
  }

  on<K extends keyof PluginEvents>(event: K, listener: PluginEvents[K]): () => void {
    const set = this.listeners[event] as Set<PluginEvents[K]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * Resolves with the next freeze. Freezes that arrived while nobody waited are kept (a few), so
   * `await ch.resume(); await ch.nextHit()` cannot lose one that came with the reply.
   */
  nextHit(timeoutMs?: number): Promise<PluginHit> {
    return this.hits.take(timeoutMs);
  }

  /** Freeze right before instruction `n` (0-based, all vCPUs, from QEMU start) executes. */
  async armInsn(token: string, n: bigint | number): Promise<void> {
    checkToken(token);
    await this.command('arm-insn', [token, BigInt(n)]);
  }

  /**
   * Freeze before the instruction at `pc` executes, after letting `skip` executions pass. One-shot
   * unless `keep`. With `hello.pcTriggers === 'split'` registers are exact and writable there.
   */
  async armPc(token: string, pc: bigint | number, skip = 0, options: { keep?: boolean } & CpuFilter = {}): Promise<void> {
    checkToken(token);
    checkCount(skip, 'skip');
    await this.command('arm-pc', [token, hex(toAddress(pc, 'pc')), skip, ...(options.keep ? ['keep'] : []), ...cpuWord(options)]);
  }

  /**
   * Data watchpoint on `[addr, addr + len)`: freezes right after each instruction whose access of
   * kind `kind` overlaps the range, before the next one (the hit carries `watch`). The first `skip`
   * matching accesses pass. Stays armed until {@link disarm}. Accesses QEMU makes itself (exception
   * stacking, DMA, debug writes) are not seen.
   */
  async armWatch(
    token: string,
    kind: PluginWatchKind,
    addr: bigint | number,
    len: number,
    skip = 0,
    options: CpuFilter = {},
  ): Promise<void> {
    checkToken(token);
    if (kind !== 'r' && kind !== 'w' && kind !== 'rw') throw new InvalidArgumentError(`watch kind '${String(kind)}' (r, w or rw)`);
    checkCount(len, 'watch length');
    if (len < 1) throw new InvalidArgumentError('watch length must be at least 1');
    checkCount(skip, 'skip');
    await this.command('arm-watch', [token, kind, hex(toAddress(addr, 'address')), len, skip, ...cpuWord(options)]);
  }

  /**
   * Traces every instruction executed with its pc in `[from, to)` (on `cpu` only, if given) until
   * {@link disarm}: `trace` events carry them, in execution order, each batch before any freeze
   * that follows it; {@link disarm}'s reply comes after the token's last batch.
   */
  async armTrace(token: string, from: bigint | number, to: bigint | number, options: CpuFilter = {}): Promise<void> {
    checkToken(token);
    await this.command('arm-trace', [token, hex(toAddress(from, 'from')), hex(toAddress(to, 'to')), ...cpuWord(options)]);
  }

  /** Reads guest memory as `cpu` sees it (virtual addresses), while frozen; MMIO reads have their side effects. */
  async readMemory(cpu: number, addr: bigint | number, len: number): Promise<Buffer> {
    const base = toAddress(addr, 'address');
    checkCount(len, 'read length');
    const parts: Buffer[] = [];
    for (let off = 0; off < len; off += PLUGIN_MEMORY_CHUNK) {
      const n = Math.min(PLUGIN_MEMORY_CHUNK, len - off);
      const part = Buffer.from(await this.command('read', [cpu, hex(base + BigInt(off)), n]), 'hex');
      if (part.length !== n) throw new ProtocolError(`plugin read returned ${part.length} bytes, wanted ${n}`);
      parts.push(part);
    }
    return Buffer.concat(parts);
  }

  /** Writes guest memory as `cpu` sees it, while frozen (ROM and flash too, like a debugger). */
  async writeMemory(cpu: number, addr: bigint | number, data: Uint8Array): Promise<void> {
    const base = toAddress(addr, 'address');
    for (let off = 0; off < data.length; off += PLUGIN_MEMORY_CHUNK) {
      const part = Buffer.from(data.subarray(off, Math.min(data.length, off + PLUGIN_MEMORY_CHUNK)));
      await this.command('write', [cpu, hex(base + BigInt(off)), part.toString('hex')]);
    }
  }

  /** Disarms every trigger with this token (instruction, pc, watch, the guest-time timer); returns how many. */
  async disarm(token: string): Promise<number> {
    checkToken(token);
    return Number(await this.command('disarm', [token]));
  }

  /** Lets a frozen vCPU continue. */
  async resume(): Promise<void> {
    this.frozen = undefined;
    await this.command('resume');
  }

  /** Instructions started so far, over all vCPUs and per vCPU (exact while frozen or stopped). */
  async count(): Promise<{ count: bigint; frozen: boolean; perCpu: bigint[] }> {
    return decodeCount(await this.command('count'));
  }

  /** QEMU_CLOCK_VIRTUAL in ns (exact while the VM is stopped or frozen at a block start). */
  async vtime(): Promise<bigint> {
    return BigInt(await this.command('vtime'));
  }

  /**
   * Freeze before the first instruction that executes when QEMU_CLOCK_VIRTUAL is at or past `ns`
   * (a `hit` with `token` and `vtimeNs`). One at a time; re-arming replaces it.
   */
  async armVtime(token: string, ns: bigint | number): Promise<void> {
    checkToken(token);
    await this.command('arm-vtime', [token, BigInt(ns)]);
  }

  async disarmVtime(): Promise<void> {
    await this.command('disarm-vtime');
  }

  /**
   * The core registers of `cpu` by gdb number, at a freeze; with `vmStopped`, while QMP has the VM
   * stopped (the caller vouches for that).
   */
  async registers(cpu: number, options: { vmStopped?: boolean } = {}): Promise<Map<number, bigint>> {
    return decodeRegisters(await this.command('regs', [cpu, ...(options.vmStopped ? ['stopped'] : [])]));
  }

  /** Writes a core register (by gdb number) at a freeze, or while the VM is stopped. A pc write is a jump. */
  async setRegister(cpu: number, gdbNumber: number, value: bigint, options: { vmStopped?: boolean } = {}): Promise<void> {
    if (value < 0n) throw new InvalidArgumentError(`register value ${value} is negative`);
    await this.command('setreg', [cpu, gdbNumber, hex(value), ...(options.vmStopped ? ['stopped'] : [])]);
  }

  async ping(): Promise<void> {
    await this.command('ping');
  }

  /**
   * Whether blocks may run without the plugin's block-start check while only guest-time timers are
   * armed (`lean`; `checked` without QEMU's internals or with plugin argument `blocks=checked`), and
   * how many times they went lean and back. A diagnostic: DESIGN.md, "Lean blocks".
   */
  async blocks(): Promise<BlockStats> {
    return decodeBlocks(await this.command('blocks'));
  }

  protected async handshake(): Promise<void> {
    const reply = await this.exchange('waiting for the plugin hello', undefined, { id: HELLO_ID });
    if (reply.kind === 'hello') this.hello = reply.hello;
  }

  protected override handshakeHint(): string {
    return '(the plugin connected but said nothing: not a qemu-fault plugin?)';
  }

  protected receive(text: string): void {
    const line = decodeLine(text);
    switch (line.type) {
      case 'ok':
        this.answer({ kind: 'ok', data: line.data }, line.id);
        return;
      case 'err':
        this.answer({ kind: 'err', errorClass: line.errorClass, message: line.message }, line.id);
        return;
      case 'hello':
        this.answer({ kind: 'hello', hello: line.hello }, HELLO_ID);
        return;
      case 'hit':
        this.frozen = line.hit;
        for (const l of this.listeners.hit) l(line.hit);
        this.hits.put(line.hit);
        return;
      case 'miss':
        for (const l of this.listeners.miss) l(line.token, line.count);
        return;
      case 'exit':
        for (const l of this.listeners.exit) l(line.count);
        return;
      case 'trace':
        for (const l of this.listeners.trace) l(line.token, line.entries);
        return;
    }
  }

  protected override onShutdown(info: CloseInfo): void {
    this.frozen = undefined;
    this.hits.fail(this.endedError('waiting for a plugin freeze'));
    for (const l of this.listeners.close) l(info.error);
  }

  private async command(verb: string, words: readonly (string | number | bigint)[] = []): Promise<string> {
    const id = this.nextId++;
    const line = encodeCommand(id, verb, words);
    const reply = await this.exchange(`plugin ${verb}`, `${line}\n`, { id, timeoutMs: this.timeoutMs, onTimeout: 'keep', trace: line });
    if (reply.kind === 'err')
      throw refusalError(verb, reply.errorClass, reply.message, { hello: this.hello, qemuVersion: this.qemuVersion });
    return reply.kind === 'ok' ? reply.data : '';
  }
}

function checkToken(token: string): void {
  if (!/^[A-Za-z0-9_.:-]{1,47}$/.test(token)) throw new InvalidArgumentError(`bad trigger token '${token}' (1-47 of [A-Za-z0-9_.:-])`);
}

function checkCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${what} must be a non-negative integer, not ${n}`);
}

function toAddress(addr: bigint | number, what: string): bigint {
  if (typeof addr === 'number' && !Number.isSafeInteger(addr)) throw new InvalidArgumentError(`${what} ${addr} is not an integer address`);
  const a = BigInt(addr);
  if (a < 0n || a > 0xffff_ffff_ffff_ffffn) throw new InvalidArgumentError(`${what} ${addr} is not a 64-bit address`);
  return a;
}

function cpuWord(options: CpuFilter): string[] {
  if (options.cpu === undefined) return [];
  checkCount(options.cpu, 'cpu');
  return [`cpu=${options.cpu}`];
}
