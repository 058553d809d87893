/**
 * A human monitor (HMP) on its own socket, for the commands a campaign sends per fault (`loadvm`,
 * `cont`, `stop`). QEMU 7.2 serves QMP from a monitor I/O thread that hands each command to the
 * main loop; a readline monitor is served by the main loop itself. Measured per command here:
 * `loadvm` 1.25 ms against 1.6–1.8 ms through QMP's `human-monitor-command`, `stop` 0.15 ms
 * against 0.25–0.45 ms, and the I/O thread's 0.5 ms of CPU per fault is gone.
 */
import type { Socket } from 'node:net';
import { InvalidArgumentError } from '../errors.js';
import type { SocketAddress } from '../transport/address.js';
import { LineReader } from '../transport/line-reader.js';
import { OneAtATime } from '../transport/one-at-a-time.js';
import { Session, type SessionOptions } from '../transport/session.js';

export interface HmpMonitorOptions extends SessionOptions {
  /** Time limit for connecting and reading the first prompt (default 5000 ms). */
  timeoutMs?: number;
}

export interface HmpExecuteOptions {
  /** Time limit for the command's output (default 30000 ms); past it the connection is closed. */
  timeoutMs?: number;
}

/** What the monitor prints when it is ready for the next command; it ends every reply. */
const PROMPT = '(qemu) ';
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_TIMEOUT_MS = 30_000;
/** Far above what `info mtree -f` prints for a board, yet bounded. */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;

/**
 * A connected readline monitor: one command at a time, each answered by the output up to the
 * next prompt. A command whose output does not come in time closes the connection, since its
 * late prompt would be taken for the next command's.
 */
export class HmpMonitor extends Session<string, string> {
  private readonly turns = new OneAtATime();

  private constructor(socket: Socket, address: string, options: HmpMonitorOptions) {
    super(socket, {
      ...options,
      protocol: 'HMP',
      address,
      decoder: new LineReader(MAX_REPLY_BYTES, { delimiter: PROMPT, what: 'HMP reply' }),
    });
  }

  /**
   * Connects to a monitor QEMU already listens on, and waits for its first prompt.
   * @throws {ConnectionError} nothing listens there; {@link TimeoutError} no prompt in time;
   *   {@link ConnectionClosedError} it hung up.
   */
  static connect(address: string | SocketAddress, options: HmpMonitorOptions = {}): Promise<HmpMonitor> {
    return Session.open(
      address,
      options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      (socket, where) => new HmpMonitor(socket, where, options),
    );
  }

  /**
   * Runs one command line and resolves with its output (empty when it succeeded silently). The
   * monitor echoes the line as it is typed (with cursor controls); the output follows that line.
   * @throws {InvalidArgumentError} the command holds a line break (it would run as two);
   *   {@link TimeoutError}; {@link ConnectionClosedError}.
   */
  execute(command: string, options: HmpExecuteOptions = {}): Promise<string> {
    if (typeof command !== 'string' || /[\r\n]/.test(command)) {
      return Promise.reject(new InvalidArgumentError(`an HMP command is one line of text, got ${JSON.stringify(command)}`));
    }
    return this.turns.run(async () => {
      const operation = `HMP command '${command}'`;
      const text = await this.exchange(operation, `${command}\n`, { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, trace: command });
      const echoEnd = text.indexOf('\r\n');
      return echoEnd < 0 ? '' : text.slice(echoEnd + 2).trim();
    });
  }

  /** The banner before the first prompt. */
  protected override async handshake(): Promise<void> {
    await this.exchange('HMP greeting', undefined);
  }

  protected override receive(text: string): void {
    this.trace('recv', text);
    // Output between commands (QEMU's own messages) waits for nobody.
    if (!this.answer(text)) this.trace('recv', '(ignored: output before a prompt nobody waited for)');
  }
}
