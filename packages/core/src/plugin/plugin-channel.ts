/**
 * One connected qemu-fault TCG plugin: commands answered in order, freezes and other events at any
 * time. When QEMU dies the socket closes and every pending request is rejected; when Node goes
 * away the plugin disarms everything and releases a frozen vCPU.
 */
import type { Socket } from 'node:net';
import { ConnectionClosedError, InvalidArgumentError, ProtocolError, TimeoutError } from '../errors.js';
import { PendingRequests } from '../transport/pending.js';
import { HitQueue } from './hit-queue.js';
import {
  decodeCount,
  decodeLine,
  decodeRegisters,
  encodeCommand,
  hex,
  type PluginErrorClass,
  type PluginHello,
  type PluginHit,
  type PluginLine,
} from './protocol.js';
import { refusalError } from './refusal.js';

export type { PluginHello, PluginHit, PluginWatchHit } from './protocol.js';

/** Access kinds for {@link PluginChannel.armWatch}. */
export type PluginWatchKind = 'r' | 'w' | 'rw';

/** Largest {@link PluginChannel.readMemory} / {@link PluginChannel.writeMemory} part in one command. */
export const PLUGIN_MEMORY_CHUNK = 1024;
/** A line longer than this from the plugin is a protocol error (the longest, a read reply, is ~2 KiB). */
const MAX_LINE = 1 << 20;
const DEFAULT_TIMEOUT_MS = 5000;

export interface PluginEvents {
  hit: (hit: PluginHit) => void;
  miss: (token: string, count: bigint) => void;
  exit: (count: bigint) => void;
  close: (err: Error | undefined) => void;
}

export interface PluginChannelOptions {
  /** Limit for the hello and for each command's reply (default 5000 ms). */
  timeoutMs?: number;
}

/** Options of triggers that may be limited to one vCPU. */
export interface CpuFilter {
  /** Fire only when this vCPU (an index) executes or accesses; default any. */
  cpu?: number;
}

/** One connected plugin. */
export class PluginChannel {
  private readonly pending = new PendingRequests<number, string>();
  private readonly verbs = new Map<number, string>();
  private readonly listeners: { [K in keyof PluginEvents]: Set<PluginEvents[K]> } = {
    hit: new Set(),
    miss: new Set(),
    exit: new Set(),
    close: new Set(),
  };
  private readonly hits = new HitQueue();
  private nextId = 1;
  private buffer = '';
  private closedWith: Error | undefined;
  private isClosed = false;
  private greeted: ((hello: PluginHello) => void) | undefined;
  private greetingFailed: ((err: Error) => void) | undefined;
  /** The freeze the vCPU is in, if any. */
  frozen: PluginHit | undefined;
  /** What this QEMU lets the plugin do (from its first line). */
  hello!: PluginHello;
  /** QEMU's version (from QMP), for messages; set by whoever knows it. */
  qemuVersion: string | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {}

  /** Takes a connected socket and waits for the plugin's hello. */
  static async start(socket: Socket, options: PluginChannelOptions = {}): Promise<PluginChannel> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const ch = new PluginChannel(socket, timeoutMs);
    const hello = new Promise<PluginHello>((resolve, reject) => {
      ch.greeted = resolve;
      ch.greetingFailed = reject;
    });
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => ch.onData(chunk));
    socket.on('error', (err) => ch.onClose(err));
    socket.on('close', () => ch.onClose(undefined));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError('waiting for the plugin hello', timeoutMs)), timeoutMs);
    });
    try {
      ch.hello = await Promise.race([hello, timeout]);
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return ch;
  }

  get closed(): boolean {
    return this.isClosed;
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
    if (this.isClosed) return this.hits.take(timeoutMs, this.closedError());
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

  close(): void {
    this.socket.destroy();
  }

  private command(verb: string, words: readonly (string | number | bigint)[] = []): Promise<string> {
    if (this.isClosed) return Promise.reject(this.closedError());
    const id = this.nextId++;
    this.verbs.set(id, verb);
    const reply = this.pending.add(id, `plugin ${verb}`, this.timeoutMs);
    this.socket.write(`${encodeCommand(id, verb, words)}\n`);
    return reply;
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    try {
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        this.onLine(decodeLine(line));
      }
      if (this.buffer.length > MAX_LINE) throw new ProtocolError(`the plugin sent a line over ${MAX_LINE} bytes`);
    } catch (err) {
      this.socket.destroy(err instanceof Error ? err : new ProtocolError(String(err)));
    }
  }

  private onLine(line: PluginLine): void {
    switch (line.type) {
      case 'ok':
        this.settle(line.id, undefined, line.data);
        return;
      case 'err':
        this.settle(line.id, line.errorClass, line.message);
        return;
      case 'hello':
        this.greeted?.(line.hello);
        this.greeted = undefined;
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
    }
  }

  private settle(id: number, errorClass: PluginErrorClass | undefined, text: string): void {
    const verb = this.verbs.get(id) ?? '?';
    this.verbs.delete(id);
    if (errorClass === undefined) this.pending.resolve(id, text);
    else this.pending.reject(id, refusalError(verb, errorClass, text, { hello: this.hello, qemuVersion: this.qemuVersion }));
  }

  private closedError(): Error {
    return new ConnectionClosedError('the QEMU plugin connection is closed', { cause: this.closedWith });
  }

  private onClose(err: Error | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closedWith = err;
    this.frozen = undefined;
    this.greetingFailed?.(new ConnectionClosedError('the plugin closed the connection before saying hello', { cause: err }));
    this.greetingFailed = undefined;
    this.pending.rejectAll((_, op) => new ConnectionClosedError(`${op}: the QEMU plugin connection closed`, { cause: err }));
    this.hits.fail(this.closedError());
    for (const l of this.listeners.close) l(err);
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
