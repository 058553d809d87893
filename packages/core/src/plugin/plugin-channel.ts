/**
 * Client for the qemu-fault TCG plugin's line protocol (see packages/core/plugin/DESIGN.md).
 *
 * Node is the server: {@link PluginListener.create} listens on a unix socket *before* QEMU starts,
 * QEMU is started with `-plugin <so>,sock=<path>`, and the plugin connects while QEMU loads it
 * (it gives up after `connect-timeout-ms` and QEMU then exits with an error, so nothing hangs).
 * When QEMU dies the socket closes and every pending request is rejected; when Node goes away
 * the plugin disarms everything and releases a frozen vCPU.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChannelUnavailableError,
  ConnectionClosedError,
  InvalidArgumentError,
  ProtocolError,
  type QemuFaultError,
  TimeoutError,
} from '../errors.js';
import { PendingRequests } from '../transport/pending.js';

/** What the plugin says right after it connects. */
export interface PluginHello {
  /** Plugin API version the plugin was built for. */
  api: number;
  /** Range of plugin API versions this QEMU accepts. */
  qemuApi: { min: number; cur: number };
  target: string;
  /** How the plugin gets instruction precision near a target (see DESIGN.md). */
  precise: 'flush' | 'singlestep';
  /** The QEMU_CLOCK_VIRTUAL commands (`vtime`, `armVtime`) are available. */
  clock: boolean;
  /** Register access at exact freezes is available. */
  regs: boolean;
  /**
   * How {@link PluginChannel.armPc} freezes: `split` (default with the QEMU internals: the block is
   * split at the pc, registers exact, cheap), `step` (singlestep while a pc is armed, exact, slow) or
   * `pc-only` (no internals: mid-block freeze, registers not exact). Older plugins: `pc-only`.
   */
  pcTriggers: 'split' | 'step' | 'pc-only';
  /** How {@link PluginChannel.armWatch} works: `replay` (default), `step`, or `none` (unsupported). */
  watch: 'replay' | 'step' | 'none';
  /** {@link PluginChannel.readMemory} / {@link PluginChannel.writeMemory} are available. */
  memory: boolean;
}

/** The guest access that fired a watchpoint ({@link PluginChannel.armWatch}). */
export interface PluginWatchHit {
  kind: 'read' | 'write';
  /** Address of the whole access (may start before the watched range). */
  address: number;
  /** Bytes accessed (1, 2, 4, 8). */
  size: number;
  /**
   * Little-endian value of the accessed bytes right after the access (the value written, or read;
   * exact up to 6 bytes). Absent for MMIO, where reading again would have side effects.
   */
  value?: number;
  /** PC of the instruction that made the access. The freeze is right after that instruction. */
  pc: number;
  /** The access went to MMIO. */
  io: boolean;
  /**
   * The freeze is later than right after the accessing instruction (more instructions of its block
   * ran): a store-exclusive, or MMIO in the middle of a block (only without `-icount`).
   */
  late: boolean;
}

/** The vCPU is frozen right before instruction `count` (0-based, counted from QEMU start). */
export interface PluginHit {
  count: bigint;
  pc: number;
  /** CPU registers in QEMU's state are exact at this freeze (a block boundary). */
  exact: boolean;
  tokens: string[];
  /** Host CLOCK_MONOTONIC (ns, same clock as `process.hrtime.bigint()`) when the vCPU froze. */
  frozenAtNs?: bigint;
  /** Host CLOCK_MONOTONIC when the vCPU last left a freeze (0 before the first). */
  lastWakeNs?: bigint;
  /**
   * Set when the freeze comes from {@link PluginChannel.armVtime}: QEMU_CLOCK_VIRTUAL (ns) when the
   * timer ran, i.e. the first instruction boundary at or after the armed time.
   */
  vtimeNs?: bigint;
  /** `main` if the guest was idle (WFI) when the timer ran: it then freezes at its first instruction after waking. */
  vtimeThread?: 'vcpu' | 'main';
  /** Set when a watchpoint fired: the access (the first firing one of that instruction). */
  watch?: PluginWatchHit;
}

/** Access kinds for {@link PluginChannel.armWatch}. */
export type PluginWatchKind = 'r' | 'w' | 'rw';

/** Trigger table size of the plugin (instruction, pc and watch triggers share it). */
export const PLUGIN_TRIGGER_LIMIT = 64;
/** Largest {@link PluginChannel.readMemory} / {@link PluginChannel.writeMemory} in one command. */
export const PLUGIN_MEMORY_CHUNK = 1024;

export interface PluginEvents {
  hit: (hit: PluginHit) => void;
  miss: (token: string, count: bigint) => void;
  exit: (count: bigint) => void;
  close: (err: Error | undefined) => void;
}

export interface PluginRegisters {
  /** r0..r15 */
  r: number[];
  xpsr: number;
}

const DEFAULT_TIMEOUT_MS = 5000;

/** Listens for the plugin's connection. Create it before starting QEMU. */
export class PluginListener {
  private readonly server: Server;
  private readonly waiting: Socket[] = [];
  private waiter: ((s: Socket) => void) | undefined;
  private closed = false;

  private constructor(
    readonly path: string,
    server: Server,
  ) {
    this.server = server;
    server.on('connection', (s) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(s);
      } else this.waiting.push(s);
    });
  }

  /** Listens on `path` (default: a fresh path in the temp dir). */
  static async create(path?: string): Promise<PluginListener> {
    const where = path ?? join(tmpdir(), `qemu-fault-plugin-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
    if (where.length > 100) throw new InvalidArgumentError(`unix socket path too long (${where.length} > 100): ${where}`);
    await rm(where, { force: true });
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(where, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new PluginListener(where, server);
  }

  /** The `-plugin` argument for QEMU. */
  qemuArg(pluginPath: string, extra: Record<string, string> = {}): string {
    if (pluginPath.includes(',') || this.path.includes(','))
      throw new InvalidArgumentError('plugin and socket paths must not contain commas');
    const args = Object.entries({ sock: this.path, ...extra }).map(([k, v]) => `${k}=${v}`);
    return [pluginPath, ...args].join(',');
  }

  /**
   * Waits for the plugin to connect and say hello. Pass `abort` (e.g. QEMU's exit promise) so a
   * QEMU that dies before connecting fails this at once instead of after the timeout.
   */
  async accept(options: { timeoutMs?: number; abort?: Promise<unknown> } = {}): Promise<PluginChannel> {
    if (this.closed) throw new ConnectionClosedError('plugin listener is closed');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = this.waiting.shift();
      if (s) return resolve(s);
      this.waiter = resolve;
      timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new TimeoutError('waiting for the QEMU plugin to connect', timeoutMs));
      }, timeoutMs);
      options.abort?.then(
        () => {
          this.waiter = undefined;
          reject(new ConnectionClosedError('QEMU exited before the plugin connected'));
        },
        (err: unknown) => {
          this.waiter = undefined;
          reject(err instanceof Error ? err : new ConnectionClosedError(String(err)));
        },
      );
    }).finally(() => clearTimeout(timer));
    return PluginChannel.start(socket, timeoutMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.waiting) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.path, { force: true });
  }
}

type Listener<K extends keyof PluginEvents> = PluginEvents[K];

/** One connected plugin. Commands are answered in order; events may arrive at any time. */
export class PluginChannel {
  private readonly pending = new PendingRequests<number, string>();
  private readonly listeners: { [K in keyof PluginEvents]: Set<Listener<K>> } = {
    hit: new Set(),
    miss: new Set(),
    exit: new Set(),
    close: new Set(),
  };
  private readonly queued: PluginHit[] = [];
  private readonly waiters: { resolve(v: PluginHit): void }[] = [];
  private nextId = 1;
  private buffer = '';
  private closedWith: Error | undefined;
  private isClosed = false;
  private helloResolve: ((h: PluginHello) => void) | undefined;
  private helloReject: ((e: Error) => void) | undefined;
  /** The freeze the vCPU is in, if any. */
  frozen: PluginHit | undefined;
  hello!: PluginHello;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {}

  static async start(socket: Socket, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<PluginChannel> {
    const ch = new PluginChannel(socket, timeoutMs);
    const hello = new Promise<PluginHello>((resolve, reject) => {
      ch.helloResolve = resolve;
      ch.helloReject = reject;
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
    (this.listeners[event] as Set<PluginEvents[K]>).add(listener);
    return () => (this.listeners[event] as Set<PluginEvents[K]>).delete(listener);
  }

  /**
   * Resolves with the next freeze. Freezes that arrived while nobody was waiting are kept (up to
   * 64), so `await ch.resume(); await ch.nextHit()` cannot lose a hit that came in the same packet
   * as the reply. Rejects if the channel closes first.
   */
  nextHit(timeoutMs?: number): Promise<PluginHit> {
    const queued = this.queued.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise<PluginHit>((resolve, reject) => {
      if (this.isClosed) return reject(this.closedError());
      let timer: NodeJS.Timeout | undefined;
      const waiter = {
        resolve: (v: PluginHit): void => {
          done();
          resolve(v);
        },
      };
      const done = (): void => {
        clearTimeout(timer);
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        offClose();
      };
      this.waiters.push(waiter);
      const offClose = this.on('close', () => {
        done();
        reject(this.closedError());
      });
      if (timeoutMs !== undefined)
        timer = setTimeout(() => {
          done();
          reject(new TimeoutError('waiting for a plugin freeze', timeoutMs));
        }, timeoutMs);
    });
  }

  private deliver(hit: PluginHit): void {
    const waiter = this.waiters.shift();
    if (waiter) return waiter.resolve(hit);
    this.queued.push(hit);
    if (this.queued.length > 64) this.queued.shift();
  }

  /** Freeze right before instruction `n` (0-based, counted from QEMU start) executes. */
  async armInsn(token: string, n: bigint | number): Promise<void> {
    checkToken(token);
    await this.command(`arm-insn ${token} ${BigInt(n)}`);
  }

  /**
   * Freeze before the instruction at `pc` executes, after letting `skip` executions pass. One-shot
   * unless `keep` (then it fires at every later execution too, until disarmed). With
   * `hello.pcTriggers === 'split'` the freeze is exact: registers can be read and written, and
   * `setRegister(15, ...)` continues there (e.g. pc + 2 skips a 16-bit instruction).
   */
  async armPc(token: string, pc: number, skip = 0, options: { keep?: boolean } = {}): Promise<void> {
    checkToken(token);
    checkAddress(pc, 'pc');
    if (pc % 2 !== 0)
      throw new InvalidArgumentError(`pc 0x${pc.toString(16)} is odd (a Thumb function symbol? use 0x${(pc - 1).toString(16)})`);
    checkCount(skip, 'skip');
    await this.command(`arm-pc ${token} 0x${pc.toString(16)} ${skip}${options.keep ? ' keep' : ''}`);
  }

  /**
   * Data watchpoint on `[addr, addr + len)`: freezes right after each guest instruction whose
   * access of kind `kind` (`r`, `w`, `rw`) overlaps the range completes, before the next instruction
   * executes (the hit carries {@link PluginHit.watch}; registers are exact). The first `skip`
   * matching accesses pass. Stays armed until {@link disarm}. Accesses QEMU makes itself (exception
   * stacking, DMA, debug writes) are not seen. Needs `hello.watch !== 'none'`.
   */
  async armWatch(token: string, kind: PluginWatchKind, addr: number, len: number, skip = 0): Promise<void> {
    checkToken(token);
    if (kind !== 'r' && kind !== 'w' && kind !== 'rw') throw new InvalidArgumentError(`watch kind '${String(kind)}' (r, w or rw)`);
    checkAddress(addr, 'address');
    if (!Number.isInteger(len) || len < 1 || addr + len > 0x1_0000_0000)
      throw new InvalidArgumentError(`watch length ${len} at 0x${addr.toString(16)} (1..${0x1_0000_0000 - addr})`);
    checkCount(skip, 'skip');
    await this.command(`arm-watch ${token} ${kind} 0x${addr.toString(16)} ${len} ${skip}`);
  }

  /**
   * Reads guest memory (virtual addresses, as the CPU sees them) while frozen. Done by the vCPU
   * thread, so it is exact at the freeze; MMIO reads have their side effects.
   */
  async readMemory(addr: number, len: number): Promise<Buffer> {
    checkAddress(addr, 'address');
    if (!Number.isInteger(len) || len < 0 || addr + len > 0x1_0000_0000) throw new InvalidArgumentError(`read length ${len}`);
    const parts: Buffer[] = [];
    for (let off = 0; off < len; off += PLUGIN_MEMORY_CHUNK) {
      const n = Math.min(PLUGIN_MEMORY_CHUNK, len - off);
      const hex = await this.command(`read 0x${(addr + off).toString(16)} ${n}`);
      const part = Buffer.from(hex, 'hex');
      if (part.length !== n) throw new ProtocolError(`plugin read returned ${part.length} bytes, wanted ${n}`);
      parts.push(part);
    }
    return Buffer.concat(parts);
  }

  /**
   * Writes guest memory while frozen (also ROM/flash, like a debugger). At an exact freeze the
   * current block restarts afterwards, so patched code takes effect at once.
   */
  async writeMemory(addr: number, data: Uint8Array): Promise<void> {
    checkAddress(addr, 'address');
    if (addr + data.length > 0x1_0000_0000) throw new InvalidArgumentError(`write of ${data.length} bytes at 0x${addr.toString(16)}`);
    for (let off = 0; off < data.length; off += PLUGIN_MEMORY_CHUNK) {
      const part = Buffer.from(data.subarray(off, Math.min(data.length, off + PLUGIN_MEMORY_CHUNK)));
      await this.command(`write 0x${(addr + off).toString(16)} ${part.toString('hex')}`);
    }
  }

  /** Reads a little-endian 32-bit word while frozen. */
  async readWord(addr: number): Promise<number> {
    return (await this.readMemory(addr, 4)).readUInt32LE(0);
  }

  /** Writes a little-endian 32-bit word while frozen. */
  async writeWord(addr: number, value: number): Promise<void> {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value >>> 0);
    await this.writeMemory(addr, b);
  }

  /** Disarms every trigger with this token (instruction, pc, watch and the vtime timer); returns how many. */
  async disarm(token: string): Promise<number> {
    checkToken(token);
    return Number(await this.command(`disarm ${token}`));
  }

  /** Lets a frozen vCPU continue. */
  async resume(): Promise<void> {
    this.frozen = undefined;
    await this.command('resume');
  }

  /** Instructions started so far (exact while frozen). */
  async count(): Promise<{ count: bigint; frozen: boolean }> {
    const [c, state] = (await this.command('count')).split(' ');
    return { count: BigInt(c ?? '0'), frozen: state === 'frozen' };
  }

  /** QEMU_CLOCK_VIRTUAL in ns (exact while the VM is stopped). */
  async vtime(): Promise<bigint> {
    return BigInt(await this.command('vtime'));
  }

  /**
   * Freeze before the first instruction that executes when QEMU_CLOCK_VIRTUAL is at or past `ns`
   * (the freeze is a `hit` whose tokens include `token` and which carries `vtimeNs`). One at a time;
   * re-arming replaces it. Deterministic when armed while frozen or before the guest starts.
   */
  async armVtime(token: string, ns: bigint | number): Promise<void> {
    checkToken(token);
    await this.command(`arm-vtime ${token} ${BigInt(ns)}`);
  }

  async disarmVtime(): Promise<void> {
    await this.command('disarm-vtime');
  }

  /**
   * r0..r15 and xPSR at an exact freeze. `vmStopped` skips the check, for a VM stopped by QMP/gdb
   * (where env is exact) — or to look at the stale env of a mid-block freeze.
   */
  async registers(options: { vmStopped?: boolean } = {}): Promise<PluginRegisters> {
    const words = (await this.command(options.vmStopped ? 'regs stopped' : 'regs')).trim().split(/\s+/);
    if (words.length !== 17) throw new ProtocolError(`plugin regs reply has ${words.length} words`);
    const values = words.map((w) => Number.parseInt(w, 16));
    return { r: values.slice(0, 16), xpsr: values[16]! };
  }

  /** Writes r0..r15 (`n` 0..15) or xPSR (`n` 25) at an exact freeze or while the VM is stopped. */
  async setRegister(n: number, value: number, options: { vmStopped?: boolean } = {}): Promise<void> {
    if (!Number.isInteger(n) || !((n >= 0 && n <= 15) || n === 25)) throw new InvalidArgumentError(`register number ${n}`);
    await this.command(`setreg ${n} 0x${(value >>> 0).toString(16)}${options.vmStopped ? ' stopped' : ''}`);
  }

  async ping(): Promise<void> {
    await this.command('ping');
  }

  close(): void {
    this.socket.destroy();
  }

  private command(text: string): Promise<string> {
    if (this.isClosed) return Promise.reject(this.closedError());
    const id = this.nextId++;
    const verb = text.split(' ')[0]!;
    const reply = this.pending.add(id, `plugin ${verb}`, this.timeoutMs);
    this.socket.write(`${id} ${text}\n`);
    return reply;
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      try {
        this.onLine(line);
      } catch (err) {
        this.socket.destroy(err instanceof Error ? err : new ProtocolError(String(err)));
        return;
      }
    }
  }

  private onLine(line: string): void {
    if (line.startsWith('! ')) return this.onEvent(line.slice(2).split(' '));
    const m = /^(\d+) (ok|err)(?: (.*))?$/.exec(line);
    if (!m) throw new ProtocolError(`unexpected line from plugin: ${JSON.stringify(line)}`);
    const id = Number(m[1]);
    const rest = m[3] ?? '';
    if (m[2] === 'ok') this.pending.resolve(id, rest);
    else this.pending.reject(id, replyError(rest));
  }

  private onEvent(w: string[]): void {
    switch (w[0]) {
      case 'hello': {
        const kv = Object.fromEntries(w.slice(3).map((p) => p.split('=') as [string, string]));
        const [min, cur] = (kv['qemu-api'] ?? '0..0').split('..').map(Number);
        const hello: PluginHello = {
          api: Number(kv['api']),
          qemuApi: { min: min ?? 0, cur: cur ?? 0 },
          target: kv['target'] ?? '',
          precise: kv['precise'] === 'singlestep' ? 'singlestep' : 'flush',
          clock: kv['clock'] === '1',
          regs: kv['regs'] === '1',
          pcTriggers: kv['pc'] === 'split' ? 'split' : kv['pc'] === 'step' ? 'step' : 'pc-only',
          watch: kv['watch'] === 'replay' ? 'replay' : kv['watch'] === 'step' ? 'step' : 'none',
          memory: kv['mem'] === '1',
        };
        this.helloResolve?.(hello);
        this.helloResolve = undefined;
        return;
      }
      case 'hit': {
        const hit: PluginHit = {
          count: BigInt(w[1]!),
          pc: Number.parseInt(w[2]!, 16),
          exact: w[3] === 'exact',
          tokens: (w[4] ?? '').split(',').filter(Boolean),
        };
        const watch: Partial<PluginWatchHit> = {};
        for (const extra of w.slice(5)) {
          const eq = extra.indexOf('=');
          const key = extra.slice(0, eq);
          const value = extra.slice(eq + 1);
          if (key === 't') hit.frozenAtNs = BigInt(value);
          else if (key === 'w') hit.lastWakeNs = BigInt(value);
          else if (key === 'v') hit.vtimeNs = BigInt(value);
          else if (key === 'vt') hit.vtimeThread = value === 'main' ? 'main' : 'vcpu';
          else if (key === 'wk') watch.kind = value === 'w' ? 'write' : 'read';
          else if (key === 'wa') watch.address = Number.parseInt(value, 16);
          else if (key === 'ws') watch.size = Number(value);
          else if (key === 'wv') watch.value = Number(BigInt(value));
          else if (key === 'wpc') watch.pc = Number.parseInt(value, 16);
          else if (key === 'wio') watch.io = value === '1';
          else if (key === 'wlate') watch.late = value === '1';
        }
        if (watch.kind !== undefined && watch.address !== undefined && watch.size !== undefined && watch.pc !== undefined)
          hit.watch = { io: false, late: false, ...watch } as PluginWatchHit;
        this.frozen = hit;
        for (const l of this.listeners.hit) l(hit);
        this.deliver(hit);
        return;
      }
      case 'miss':
        for (const l of this.listeners.miss) l(w[1]!, BigInt(w[2]!));
        return;
      case 'exit':
        for (const l of this.listeners.exit) l(BigInt(w[1]!));
        return;
      default:
        throw new ProtocolError(`unknown plugin event: ${w.join(' ')}`);
    }
  }

  private closedError(): Error {
    return new ConnectionClosedError('the QEMU plugin connection is closed', { cause: this.closedWith });
  }

  private onClose(err: Error | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closedWith = err;
    this.frozen = undefined;
    this.helloReject?.(new ConnectionClosedError('the plugin closed the connection before saying hello', { cause: err }));
    this.helloReject = undefined;
    this.pending.rejectAll((_, op) => new ConnectionClosedError(`${op}: the QEMU plugin connection closed`, { cause: err }));
    for (const l of this.listeners.close) l(err);
  }
}

function checkToken(token: string): void {
  if (!/^[A-Za-z0-9_.:-]{1,47}$/.test(token)) throw new InvalidArgumentError(`bad trigger token '${token}' (1-47 of [A-Za-z0-9_.:-])`);
}

function checkAddress(addr: number, what: string): void {
  if (!Number.isInteger(addr) || addr < 0 || addr > 0xffff_ffff) throw new InvalidArgumentError(`${what} ${addr} is not a 32-bit address`);
}

function checkCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${what} must be a non-negative integer, not ${n}`);
}

function replyError(message: string): QemuFaultError {
  if (message === 'unsupported' || message.startsWith('unsupported:')) {
    const what = /^unsupported: (.*?) needs/.exec(message)?.[1];
    return new ChannelUnavailableError(
      'plugin internals',
      what ? `The plugin's '${what}'` : 'This plugin command',
      'This QEMU binary does not export the internal symbols it needs (Debian builds with --enable-modules do).',
    );
  }
  if (
    /^(usage|bad |register number|instruction .* is not in the future|virtual time .* is not in the future|already frozen|trigger limit|too many arguments|missing command|cannot access)/.test(
      message,
    )
  )
    return new InvalidArgumentError(`plugin: ${message}`);
  return new ProtocolError(`plugin refused: ${message}`);
}
