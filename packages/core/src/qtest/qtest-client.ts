import type { Socket } from 'node:net';
import { InvalidArgumentError, ProtocolError, QtestError } from '../errors.js';
import { checkAddress, checkInt32, checkTransferLength, checkUnsigned, hex } from '../integers.js';
import type { SocketAddress } from '../transport/address.js';
import { LineReader } from '../transport/line-reader.js';
import { Session, type SessionOptions } from '../transport/session.js';
import { abbreviate } from '../transport/session-errors.js';
import { checkCommandLine, checkWord, type IrqEvent, parseQtestLine } from './qtest-protocol.js';

export type { CloseInfo } from '../transport/close-info.js';
export type { IrqEvent } from './qtest-protocol.js';

export interface QtestClientOptions extends SessionOptions {
  /** Time limit for connecting and for each command's reply (default 5000 ms). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;
/** Bulk transfers are split so that no reply line (base64: 4/3 of the data) nears the line limit. */
const BULK_CHUNK_BYTES = 256 * 1024;
const MAX_LINE_BYTES = 1024 * 1024;
const BUSY_HINT = '(QEMU serves one client per socket at a time: is another one connected?)';

type Reply = { ok: boolean; text: string };

/**
 * A client for QEMU's qtest channel (`-qtest unix:PATH,server=on,wait=off`): physical memory
 * access through the system address space and GPIO/IRQ lines, as `tests/qtest/libqtest.c` uses it.
 *
 * QEMU answers commands strictly in order, so any number may be in flight; `IRQ` lines that
 * arrive in between are events, not replies. Malformed commands make QEMU 7.2 abort on an
 * assertion, so every argument is validated before sending.
 *
 * @example
 * const qtest = await QtestClient.connect('/tmp/vm/qtest.sock');
 * await qtest.writel(0x2000_0000, 0xdeadbeef);
 * const data = await qtest.readBytes(0x2000_0000, 64);
 */
export class QtestClient extends Session<string, Reply> {
  private readonly irqListeners = new Set<(event: IrqEvent) => void>();
  private readonly timeoutMs: number;
  private targetEndianness: 'big' | 'little' = 'little';

  private constructor(socket: Socket, address: string, options: QtestClientOptions) {
    super(socket, { ...options, protocol: 'qtest', address, decoder: new LineReader(MAX_LINE_BYTES, { what: 'qtest line' }) });
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * Connects to a qtest socket and asks for the target's endianness, which also proves the peer speaks qtest.
   * @param address a unix socket path or `host:port` (see {@link parseAddress}).
   * @throws {ConnectionError} nothing listens there; {@link TimeoutError} no answer in time;
   *   {@link ProtocolError} the peer does not speak qtest.
   */
  static connect(address: string | SocketAddress, options: QtestClientOptions = {}): Promise<QtestClient> {
    return Session.open(
      address,
      options.connectTimeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      (socket, where) => new QtestClient(socket, where, options),
    );
  }

  /** The target's byte order, as QEMU reported it on connect. */
  endianness(): 'big' | 'little' {
    return this.targetEndianness;
  }

  /**
   * Sends one raw command line and resolves with what follows `OK` (`''` for a bare `OK`).
   * If a reply does not come in time the connection is closed: replies carry no id, so a late
   * one would otherwise be taken for the next command's.
   * @throws {InvalidArgumentError} the line is empty, has a line break or empty words (nothing sent);
   *   {@link QtestError} QEMU answered `FAIL`/`ERR`; {@link TimeoutError}; {@link ConnectionClosedError}.
   */
  async command(line: string): Promise<string> {
    checkCommandLine(line);
    const reply = await this.exchange(`qtest command '${abbreviate(line)}'`, `${line}\n`, { timeoutMs: this.timeoutMs, trace: line });
    if (!reply.ok) throw new QtestError(abbreviate(line), reply.text);
    return reply.text;
  }

  /** Reads one byte of the system address space. */
  async readb(address: bigint | number): Promise<number> {
    return Number(await this.readValue('readb', address, 1));
  }

  /** Reads 2 bytes, in the target's byte order. */
  async readw(address: bigint | number): Promise<number> {
    return Number(await this.readValue('readw', address, 2));
  }

  /** Reads 4 bytes, in the target's byte order. */
  async readl(address: bigint | number): Promise<number> {
    return Number(await this.readValue('readl', address, 4));
  }

  /** Reads 8 bytes, in the target's byte order. */
  async readq(address: bigint | number): Promise<bigint> {
    return this.readValue('readq', address, 8);
  }

  /** Writes one byte. @throws {InvalidArgumentError} `value` is not 0..0xff. */
  async writeb(address: bigint | number, value: number): Promise<void> {
    await this.writeValue('writeb', address, value, 1);
  }

  /** Writes 2 bytes in the target's byte order. */
  async writew(address: bigint | number, value: number): Promise<void> {
    await this.writeValue('writew', address, value, 2);
  }

  /** Writes 4 bytes in the target's byte order. */
  async writel(address: bigint | number, value: number): Promise<void> {
    await this.writeValue('writel', address, value, 4);
  }

  /** Writes 8 bytes in the target's byte order. */
  async writeq(address: bigint | number, value: bigint | number): Promise<void> {
    await this.writeValue('writeq', address, value, 8);
  }

  /** Reads `length` bytes (base64 transfer, pipelined in chunks). */
  async readBytes(address: bigint | number, length: number): Promise<Buffer> {
    checkTransferLength(length);
    const start = checkAddress(address, length);
    const chunks: Promise<Buffer>[] = [];
    for (let off = 0; off < length; off += BULK_CHUNK_BYTES) {
      const size = Math.min(BULK_CHUNK_BYTES, length - off);
      chunks.push(this.b64read(start + BigInt(off), size));
    }
    return Buffer.concat(await Promise.all(chunks), length);
  }

  /** Writes `data` (base64 transfer, pipelined in chunks). */
  async writeBytes(address: bigint | number, data: Uint8Array): Promise<void> {
    if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('data must be a Buffer or Uint8Array');
    const start = checkAddress(address, data.length);
    const writes: Promise<string>[] = [];
    for (let off = 0; off < data.length; off += BULK_CHUNK_BYTES) {
      const piece = data.subarray(off, off + BULK_CHUNK_BYTES);
      const b64 = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength).toString('base64');
      writes.push(this.command(`b64write ${hex(start + BigInt(off))} ${piece.length} ${b64}`));
    }
    await Promise.all(writes);
  }

  /**
   * Drives GPIO input `name[num]` of the device at QOM `path` (`undefined` name: its unnamed inputs).
   * Beware: QEMU 7.2 aborts if the device has no such input; check with QMP `qom-list` first.
   */
  async setIrqIn(path: string, name: string | undefined, num: number, level: number): Promise<void> {
    checkWord(path, 'QOM path');
    if (name !== undefined) checkWord(name, 'GPIO name');
    checkInt32(num, 'GPIO number');
    if (num < 0) throw new InvalidArgumentError(`GPIO number must not be negative, got ${num}`);
    checkInt32(level, 'GPIO level');
    await this.command(`set_irq_in ${path} ${name ?? 'unnamed-gpio-in'} ${num} ${level}`);
  }

  /**
   * Routes the unnamed GPIO inputs of the device at `path` to {@link onIrq} instead of the device.
   * QEMU allows one intercepted device per run.
   */
  async irqInterceptIn(path: string): Promise<void> {
    checkWord(path, 'QOM path');
    await this.command(`irq_intercept_in ${path}`);
  }

  /** Routes the unnamed GPIO outputs of the device at `path` to {@link onIrq}. QEMU allows one intercepted device per run. */
  async irqInterceptOut(path: string): Promise<void> {
    checkWord(path, 'QOM path');
    await this.command(`irq_intercept_out ${path}`);
  }

  /** Calls `listener` for every IRQ level change of the intercepted device. Returns a function that unsubscribes. */
  onIrq(listener: (event: IrqEvent) => void): () => void {
    this.irqListeners.add(listener);
    return () => void this.irqListeners.delete(listener);
  }

  protected override async handshake(): Promise<void> {
    const reply = await this.command('endianness');
    if (reply !== 'big' && reply !== 'little') throw new ProtocolError(`qtest 'endianness' answered '${reply}'`);
    this.targetEndianness = reply;
  }

  protected override handshakeHint(): string {
    return BUSY_HINT;
  }

  protected override receive(line: string): void {
    this.trace('recv', line);
    const parsed = parseQtestLine(line);
    if (parsed.kind !== 'irq') {
      if (!this.answer({ ok: parsed.kind === 'ok', text: parsed.text })) {
        throw new ProtocolError(`qtest sent a reply nobody asked for: '${abbreviate(line)}'`);
      }
      return;
    }
    for (const listener of [...this.irqListeners]) {
      try {
        listener(parsed.event);
      } catch (err) {
        this.trace('recv', `(IRQ listener threw: ${String(err)})`);
      }
    }
  }

  private async readValue(command: string, address: bigint | number, size: number): Promise<bigint> {
    const text = await this.command(`${command} ${hex(checkAddress(address, size))}`);
    if (!/^0x[0-9a-fA-F]{1,16}$/.test(text)) throw new ProtocolError(`qtest '${command}' answered '${text}', not a hex number`);
    return BigInt(text);
  }

  private async writeValue(command: string, address: bigint | number, value: unknown, size: number): Promise<void> {
    const v = checkUnsigned(value, size * 8);
    await this.command(`${command} ${hex(checkAddress(address, size))} ${hex(v)}`);
  }

  private async b64read(address: bigint, size: number): Promise<Buffer> {
    const text = await this.command(`b64read ${hex(address)} ${size}`);
    const data = Buffer.from(text, 'base64');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || data.length !== size) {
      throw new ProtocolError(`qtest 'b64read' of ${size} bytes answered ${text.length} characters that are not ${size} bytes of base64`);
    }
    return data;
  }
}
