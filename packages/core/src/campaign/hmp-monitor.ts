/**
 * A human monitor (HMP) on its own socket, for the commands a campaign sends per fault (`loadvm`,
 * `cont`, `stop`). QEMU 7.2 serves QMP from a monitor I/O thread that hands each command to the
 * main loop; a readline monitor is served by the main loop itself. Measured per command here:
 * `loadvm` 1.25 ms against 1.6–1.8 ms through QMP's `human-monitor-command`, `stop` 0.15 ms
 * against 0.25–0.45 ms, and the I/O thread's 0.5 ms of CPU per fault is gone.
 */
import { connect, type Socket } from 'node:net';
import { ConnectionClosedError, TimeoutError } from '../errors.js';

const PROMPT = '(qemu) ';
const DEFAULT_TIMEOUT_MS = 30_000;

/** The QEMU arguments that open a readline monitor on unix socket `path`. */
export function hmpMonitorArgs(path: string): string[] {
  return ['-chardev', `socket,id=qfhmp,path=${path},server=on,wait=off`, '-mon', 'chardev=qfhmp,mode=readline'];
}

/** A connected readline monitor: one command at a time, each answered by its output. */
export class HmpMonitor {
  private buffer = '';
  private queue: Promise<unknown> = Promise.resolve();
  private waiter: { resolve(text: string): void; reject(err: Error): void } | undefined;
  private closedWith: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.closedWith = new ConnectionClosedError('the HMP monitor connection closed (QEMU exited?)');
      this.waiter?.reject(this.closedWith);
      this.waiter = undefined;
    });
  }

  /** Connects to a monitor QEMU already listens on, and waits for its first prompt. */
  static async connect(path: string, timeoutMs = 5000): Promise<HmpMonitor> {
    const socket = connect(path);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const monitor = new HmpMonitor(socket);
    await monitor.next(timeoutMs).catch((err: unknown) => {
      socket.destroy();
      throw err;
    });
    return monitor;
  }

  /** Everything up to the next prompt. */
  private next(timeoutMs: number): Promise<string> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new TimeoutError('HMP command', timeoutMs));
      }, timeoutMs);
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        this.waiter = undefined;
        fn();
      };
      this.waiter = { resolve: (text) => settle(() => resolve(text)), reject: (err) => settle(() => reject(err)) };
      this.onData('');
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    const end = this.buffer.indexOf(PROMPT);
    if (end < 0 || !this.waiter) return;
    const text = this.buffer.slice(0, end);
    this.buffer = this.buffer.slice(end + PROMPT.length);
    this.waiter.resolve(text);
  }

  /**
   * Runs one command line and resolves with its output (empty when it succeeded silently). The
   * monitor echoes the line as it is typed (with cursor controls); the output follows that line.
   */
  execute(command: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
    const run = this.queue.then(async () => {
      const answer = this.next(timeoutMs);
      this.socket.write(`${command}\n`);
      const text = await answer;
      const echoEnd = text.indexOf('\r\n');
      return echoEnd < 0 ? '' : text.slice(echoEnd + 2).trim();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.socket.destroy();
  }
}
